package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/apigw/apigw/internal/schemas"
)

// printSchema is `apigw schema spec|bindings|event|response`.
func printSchema(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apigw schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "the event's payload_format_version: 0.1 (the default) or 1.0")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "apigw schema %s [--version 1.0|0.1]\n\nPrints a JSON Schema: the spec with its x-yc-* extensions, the bindings file,\nor a function's event or response (docs/schemas.md).\n", strings.Join(schemas.Kinds, "|"))
		fs.PrintDefaults()
	}
	// The kind may come before or after the flags.
	var kind string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		kind, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if kind == "" && fs.NArg() > 0 {
		kind = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apigw schema: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if kind == "" {
		fs.Usage()
		return 2
	}
	out, err := schemas.Get(kind, *version)
	if err != nil {
		fmt.Fprintf(stderr, "apigw schema: %v\n", err)
		return 2
	}
	stdout.Write(out)
	return 0
}
