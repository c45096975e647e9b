package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/contract"
	"github.com/apigw/apigw/internal/integration"
	pvalidate "github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/server"
	"github.com/apigw/apigw/internal/spec"
)

const testUsage = `apigw test --spec api.yaml [--config apigw.yaml | --base-url URL] [--mock] [--seed N]
           [--max-per-op N] [--junit report.xml] [--operation ID|"METHOD /path" ...] [--header "Name: value" ...]

Generates requests from the spec (examples first, then bounds, then random
values; invalid ones where a validator checks requests) and checks every
answer against the declared responses. Without --config or --base-url the
spec is tested against its own mocks.
`

// contractTest is `apigw test`.
func contractTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("apigw test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, testUsage); fs.PrintDefaults() }
	opts := server.Options{Vars: map[string]string{}, Version: versionString()}
	var base, junit string
	var seed uint64
	var maxPerOp, parallel int
	var quiet bool
	var filters []string
	headers := http.Header{}
	fs.StringVar(&opts.SpecFile, "spec", "", "the API specification")
	fs.StringVar(&opts.ConfigFile, "config", "", "the bindings file: the gateway runs in this process with it")
	fs.StringVar(&base, "base-url", "", "test a gateway that is already running at this URL instead")
	fs.BoolVar(&opts.Mock, "mock", false, "answer the operations whose targets are not bound from the spec (implied without --config and --base-url)")
	fs.Uint64Var(&seed, "seed", 1, "the seed of the generated values: the same seed makes the same requests")
	fs.IntVar(&maxPerOp, "max-per-op", 5, "valid requests per operation (invalid ones come on top, at most 3)")
	fs.IntVar(&parallel, "parallel", 8, "operations tested at once")
	fs.StringVar(&junit, "junit", "", "also write a JUnit XML report to this file")
	fs.BoolVar(&quiet, "q", false, "print only the failing checks, and one line per operation whose checks all passed")
	fs.Func("operation", `test only this operation: its operationId, or "METHOD /path" (repeatable)`, func(s string) error {
		filters = append(filters, s)
		return nil
	})
	fs.Func("header", `add a header to every request, "Name: value" (repeatable; e.g. a real credential)`, func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("want \"Name: value\"")
		}
		headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		return nil
	})
	fs.Func("var", "set a spec variable, name=value (repeatable)", func(s string) error {
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return fmt.Errorf("want name=value")
		}
		opts.Vars[name] = value
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "apigw test: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if opts.SpecFile == "" {
		fmt.Fprint(stderr, "apigw test: --spec is required\n\n"+testUsage)
		return 2
	}
	if base != "" && opts.ConfigFile != "" {
		fmt.Fprintln(stderr, "apigw test: give --config (a gateway in this process) or --base-url (one already running), not both")
		return 2
	}
	var doc *spec.Document
	if base == "" {
		if opts.ConfigFile == "" && !opts.Mock {
			opts.Mock = true
			fmt.Fprintln(stderr, "apigw test: no --config: every operation whose target is not bound answers from the spec's mocks")
		}
		gw, errs := server.StartInProcess(opts, nil)
		printList(stderr, errs.Warnings())
		if errs.Err() != nil {
			printList(stderr, errs.Errors())
			return 2
		}
		defer gw.Close()
		base, doc = gw.URL, gw.Snapshot.Doc
	} else {
		base = strings.TrimRight(base, "/")
		opts.SpecOnly = true
		snap, errs := server.Load(opts, integration.NewDeps())
		if errs.Err() != nil {
			printList(stderr, errs.Errors())
			return 2
		}
		doc = snap.Doc
	}
	t, err := pvalidate.Load(doc.Root)
	if err != nil {
		fmt.Fprintf(stderr, "apigw test: %s: the spec's schemas cannot be loaded: %v\n", opts.SpecFile, err)
		return 2
	}
	var keep func(*contract.Operation) bool
	if len(filters) > 0 {
		keep = func(o *contract.Operation) bool {
			return slices.ContainsFunc(filters, o.Matches)
		}
	}
	ops, err := contract.Plan(doc, t, keep)
	if err != nil {
		fmt.Fprintf(stderr, "apigw test: %v\n", err)
		return 2
	}
	if len(filters) > 0 && len(ops) == 0 {
		fmt.Fprintf(stderr, "apigw test: no operation matches %s\n", strings.Join(filters, ", "))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rn := &contract.Runner{BaseURL: base, Header: headers, Seed: seed, MaxPerOp: maxPerOp, Parallel: parallel,
		Client: &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	start := time.Now()
	results := rn.Run(ctx, ops)
	elapsed := time.Since(start)
	contract.WriteText(stdout, base, results, !quiet)
	sum := contract.Summarize(results, elapsed)
	fmt.Fprintf(stdout, "%s (seed %d)\n", sum, seed)
	if junit != "" {
		f, err := os.Create(junit)
		if err == nil {
			err = contract.WriteJUnit(f, base, results, elapsed)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "apigw test: --junit: %v\n", err)
			return 2
		}
	}
	if sum.Failed > 0 {
		return 1
	}
	return 0
}
