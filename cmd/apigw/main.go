// Command apigw serves a Yandex Cloud API Gateway specification.
//
//	apigw serve    --spec api.yaml [--config apigw.yaml] [--mock] [--listen ADDR] [--admin ADDR] [--var name=value ...]
//	apigw serve    --config apigw.yaml   (with control_plane: gateways created through the cloud's API)
//	apigw validate --spec api.yaml [--config apigw.yaml] [--mock] [--strict] [--var name=value ...]
//	apigw routes   --spec api.yaml [--config apigw.yaml] [--mock] [--var name=value ...]
//	apigw init     --spec api.yaml [--out apigw.yaml] [--functions DIR] [--force]
//	apigw test     --spec api.yaml [--config apigw.yaml | --base-url URL] [--seed N] [--junit FILE] [--operation ID ...]
//	apigw schema   spec|bindings|event|response [--version 1.0|0.1]
//	apigw version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/scaffold"
	"github.com/apigw/apigw/internal/schemas"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// version is set at release build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// usage lists the commands; the schemas come from the list apigw schema
// serves, so that no kind is left out of the help.
var usage = `apigw serves a Yandex Cloud API Gateway specification (OpenAPI 3.0 + x-yc-apigateway*).

Usage:
  apigw serve    --spec api.yaml [--config apigw.yaml] [--mock] [--listen ADDR] [--admin ADDR] [--var name=value ...]
  apigw serve    --config apigw.yaml        (control_plane: gateways created through the cloud's API; docs/control-plane.md)
  apigw validate --spec api.yaml [--config apigw.yaml] [--mock] [--strict] [--var name=value ...]
  apigw routes   --spec api.yaml [--config apigw.yaml] [--mock] [--var name=value ...]
  apigw init     --spec api.yaml [--out apigw.yaml] [--functions DIR] [--force]
  apigw test     --spec api.yaml [--config apigw.yaml | --base-url URL] [--seed N] [--junit FILE] [--operation ID ...]
  apigw schema   ` + strings.Join(schemas.Kinds, "|") + ` [--version 1.0|0.1]
  apigw version

Run "apigw COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "init":
		return initBindings(rest, stdout, stderr)
	case "test":
		return contractTest(rest, stdout, stderr)
	case "schema":
		return printSchema(rest, stdout, stderr)
	case "serve", "validate", "routes":
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "apigw", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "apigw: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("apigw "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := server.Options{Vars: map[string]string{}, Version: versionString(), SpecOnly: cmd != "serve"}
	fs.StringVar(&opts.SpecFile, "spec", "", "the API specification (OpenAPI 3.0 YAML or JSON)")
	fs.StringVar(&opts.ConfigFile, "config", "", "the bindings file (apigw.yaml)")
	fs.Func("var", "set a spec variable, name=value (repeatable; overrides the bindings file)", func(s string) error {
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return errors.New("want name=value")
		}
		opts.Vars[name] = value
		return nil
	})
	strict := false
	if cmd == "validate" {
		fs.BoolVar(&strict, "strict", false, "fail (exit 1) on warnings too, such as unknown keys in x-yc-* objects (for CI)")
	}
	if cmd == "serve" {
		fs.StringVar(&opts.Listen, "listen", "", "API listen address (default :8080, or listen in the bindings)")
		fs.StringVar(&opts.Admin, "admin", "", "admin listen address for /healthz, /readyz, /metrics (default 127.0.0.1:9090)")
	}
	fs.BoolVar(&opts.Mock, "mock", false, "answer every operation whose function, container, bucket, queue, stream or table is not bound from the spec's declared responses (validate: and check the examples those answers use)")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apigw %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	if opts.SpecFile == "" && !(cmd == "serve" && opts.ConfigFile != "") {
		fmt.Fprintf(stderr, "apigw %s: --spec is required\n", cmd)
		return 2
	}
	switch cmd {
	case "serve":
		if err := server.New(opts).Run(context.Background()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case "validate":
		return validate(opts, strict, stdout, stderr)
	default:
		return routes(opts, stdout, stderr)
	}
}

// validate prints every warning (stderr) and error (stdout) of the spec and
// the bindings. Warnings do not fail it, as the gateway serves such a spec;
// with strict they do.
func validate(opts server.Options, strict bool, stdout, stderr io.Writer) int {
	snap, errs := server.Load(opts, integration.NewDeps())
	warnings := errs.Warnings()
	printList(stderr, warnings)
	if snap == nil {
		printList(stdout, errs.Errors())
		return 1
	}
	switch {
	case len(warnings) == 0:
		fmt.Fprintln(stdout, "ok")
	case strict:
		fmt.Fprintf(stdout, "%s; --strict fails on them\n", plural(len(warnings), "warning"))
		return 1
	default:
		fmt.Fprintf(stdout, "ok, with %s\n", plural(len(warnings), "warning"))
	}
	return 0
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func routes(opts server.Options, stdout, stderr io.Writer) int {
	snap, errs := server.Load(opts, integration.NewDeps())
	printList(stderr, errs.Warnings())
	if snap == nil {
		printList(stderr, errs.Errors())
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRIORITY\tCLASS\tMETHOD\tTEMPLATE\tOPERATION\tINTEGRATION\tTARGET")
	for i, r := range snap.Routes() {
		op := r.Operation
		if op == "" {
			op = "-"
		}
		tmpl := r.Template
		if r.Shadowed {
			tmpl += "  (never matches: " + r.ShadowedBy + " wins)"
		}
		target := r.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, r.Class, r.Method, tmpl, op, r.Type, target)
	}
	tw.Flush()
	return 0
}

func printList(w io.Writer, l yamlx.List) {
	for _, e := range l {
		fmt.Fprintln(w, e.Error())
	}
}

func versionString() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

// initBindings writes a first bindings file for a spec (apigw init).
func initBindings(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apigw init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specFile := fs.String("spec", "", "the API specification")
	out := fs.String("out", "", "the bindings file to write (default: apigw.yaml next to the spec)")
	fnDir := fs.String("functions", "", "a folder with one folder per function ID holding index.py or index.js (default: functions/ next to the spec)")
	force := fs.Bool("force", false, "replace the file if it exists")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apigw init: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *specFile == "" {
		fmt.Fprintln(stderr, "apigw init: --spec is required")
		return 2
	}
	if *out == "" {
		*out = filepath.Join(filepath.Dir(*specFile), "apigw.yaml")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		fmt.Fprintf(stderr, "apigw init: %s exists; --force replaces it\n", *out)
		return 1
	}
	src, err := os.ReadFile(*specFile)
	if err != nil {
		fmt.Fprintln(stderr, "apigw init:", err)
		return 1
	}
	doc, errs := spec.LoadFile(*specFile, nil)
	if doc == nil {
		printList(stdout, errs.Errors())
		return 1
	}
	text, res := scaffold.Bindings(doc, src, scaffold.Options{Out: *out, FunctionsDir: *fnDir})
	if err := os.WriteFile(*out, text, 0o644); err != nil {
		fmt.Fprintln(stderr, "apigw init:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %s bound, %s to fill in (commented out), %s\n", *out,
		plural(res.Bound, "resource"), plural(res.ToFill, "resource"), plural(res.Variables, "variable"))
	fmt.Fprintf(stdout, "next: apigw validate --spec %s --config %s\n", *specFile, *out)
	return 0
}
