// Package scaffold writes a first bindings file for a spec (`apigw init`):
// every resource ID the spec refers to and every spec variable, each with
// a comment naming the lines that use it and the bindings it can take.
// What needs a choice is written commented out, so that the file loads and
// `apigw validate` then lists exactly what is left to fill in.
package scaffold

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Options says where local function code lives and where the file goes.
type Options struct {
	// Out is the bindings file to write (relative directories in it are
	// relative to it).
	Out string
	// FunctionsDir holds a folder per function ID with index.py or
	// index.js (default: functions/ next to the spec).
	FunctionsDir string
}

// use is one place the spec names a resource.
type use struct {
	line int
	what string // "GET /hello", "authorizer key", ...
}

// resource is one ID and where the spec uses it.
type resource struct {
	id   string
	uses []use
	tags map[string]bool // functions: the tags asked for
}

type collected struct {
	spec       string
	functions  map[string]*resource
	containers map[string]*resource
	buckets    map[string]*resource
	queues     map[string]*resource
	streams    map[string]*resource
	databases  map[string]*resource
	nodes      map[string]*resource
	accounts   map[string]*resource
}

func (c *collected) add(m map[string]*resource, id string, n *yaml.Node, what string) *resource {
	r := m[id]
	if r == nil {
		r = &resource{id: id, tags: map[string]bool{}}
		m[id] = r
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	r.uses = append(r.uses, use{line, what})
	return r
}

// scalar is a key's value (or its hyphenated spelling's), with its node.
func scalar(n *yaml.Node, key string) (string, *yaml.Node) {
	for _, k := range []string{key, strings.ReplaceAll(key, "_", "-")} {
		if v := yamlx.Get(n, k); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
			return v.Value, v
		}
	}
	return "", nil
}

func collect(doc *spec.Document) *collected {
	c := &collected{spec: filepath.Base(doc.File),
		functions: map[string]*resource{}, containers: map[string]*resource{}, buckets: map[string]*resource{},
		queues: map[string]*resource{}, streams: map[string]*resource{}, databases: map[string]*resource{},
		nodes: map[string]*resource{}, accounts: map[string]*resource{}}
	if id := doc.Gateway.ServiceAccountID; id != "" {
		c.add(c.accounts, id, yamlx.Get(yamlx.Get(doc.Root, "x-yc-apigateway"), "service_account_id"), "x-yc-apigateway")
	}
	var ops []*spec.Operation
	for _, p := range doc.Paths {
		ops = append(ops, p.Operations...)
		for _, o := range []*spec.Operation{p.AnyMethod, p.WSConnect, p.WSMessage, p.WSDisconnect} {
			if o != nil {
				ops = append(ops, o)
			}
		}
	}
	for _, op := range ops {
		if op.Integration == nil {
			continue
		}
		n, what := op.Integration.Node, opName(op)
		if id, at := scalar(n, "service_account_id"); id != "" {
			c.add(c.accounts, id, at, what)
		}
		if op.Integration.Type == "cloud_functions" {
			c.function(n, what)
			continue
		}
		if k, ok := idKeys[op.Integration.Type]; ok {
			if id, at := scalar(n, k.key); id != "" {
				c.add(k.of(c), id, at, what)
			}
		}
	}
	names := make([]string, 0, len(doc.SecuritySchemes))
	for name := range doc.SecuritySchemes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := yamlx.Get(doc.SecuritySchemes[name].Node, "x-yc-apigateway-authorizer")
		if a == nil {
			continue
		}
		c.function(a, "authorizer "+name)
		if id, at := scalar(a, "service_account_id"); id != "" {
			c.add(c.accounts, id, at, "authorizer "+name)
		}
	}
	return c
}

// idKeys is, for each integration type but cloud_functions, the key that
// names its resource and the list it goes to.
var idKeys = map[string]struct {
	key string
	of  func(*collected) map[string]*resource
}{
	"serverless_containers": {"container_id", func(c *collected) map[string]*resource { return c.containers }},
	"object_storage":        {"bucket", func(c *collected) map[string]*resource { return c.buckets }},
	"cloud_ymq":             {"queue_url", func(c *collected) map[string]*resource { return c.queues }},
	"cloud_datastreams":     {"stream_name", func(c *collected) map[string]*resource { return c.streams }},
	"cloud_ydb":             {"database", func(c *collected) map[string]*resource { return c.databases }},
	"cloud_datasphere":      {"node_id", func(c *collected) map[string]*resource { return c.nodes }},
}

// function records the function_id (and tag) of an integration or an
// authorizer.
func (c *collected) function(n *yaml.Node, what string) {
	if id, at := scalar(n, "function_id"); id != "" {
		r := c.add(c.functions, id, at, what)
		if tag, _ := scalar(n, "tag"); tag != "" {
			r.tags[tag] = true
		}
	}
}

func opName(op *spec.Operation) string {
	m := op.Method
	switch {
	case strings.HasSuffix(op.Path, "x-yc-apigateway-websocket-connect"):
		m = "WS-CONNECT"
	case strings.HasSuffix(op.Path, "x-yc-apigateway-websocket-message"):
		m = "WS-MESSAGE"
	case strings.HasSuffix(op.Path, "x-yc-apigateway-websocket-disconnect"):
		m = "WS-DISCONNECT"
	case strings.HasSuffix(op.Path, "x-yc-apigateway-any-method"):
		m = "ANY"
	}
	return m + " " + op.Template
}

// Result counts what the file binds and what it leaves to fill in.
type Result struct {
	Bound, ToFill int
	Variables     int
}

// Bindings renders the bindings file for doc.
func Bindings(doc *spec.Document, src []byte, o Options) ([]byte, Result) {
	c := collect(doc)
	var res Result
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Bindings for %s, written by `apigw init`. The spec stays as you deploy it;\n", c.spec)
	w("# this file says where what it names by ID runs here. Entries that need a\n")
	w("# choice are commented out: `apigw validate --spec %s --config %s`\n", c.spec, filepath.Base(o.Out))
	w("# lists what is still to fill in, with the spec line of each.\n")
	w("# Every key: docs/configuration.md.\n")
	w("listen: 127.0.0.1:8080\nadmin: 127.0.0.1:9090\n")

	if len(doc.Variables) > 0 {
		w("\nvariables:                # x-yc-apigateway.variables (flag --var name=value wins)\n")
		names := make([]string, 0, len(doc.Variables))
		for n := range doc.Variables {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			v := doc.Variables[n]
			if i > 0 {
				w("\n")
			}
			w("  # %s\n", usedAt(c.spec, varLines(src, n)))
			if len(v.Enum) > 0 {
				w("  # one of: %s\n", strings.Join(v.Enum, ", "))
			}
			w("  %s: %s\n", quote(n), quote(v.Default))
			res.Variables++
		}
	}

	// section writes one kind's entries; each entry's lines come indented
	// by two spaces and are indented further under a nested title.
	section := func(title, comment string, m map[string]*resource, entry func(r *resource) (line string, bound bool)) {
		if len(m) == 0 {
			return
		}
		extra := strings.Repeat(" ", len(title)-len(strings.TrimLeft(title, " ")))
		w("\n%s%s\n", title, comment)
		for i, r := range sorted(m) {
			if i > 0 {
				w("\n")
			}
			w("%s  # %s\n", extra, usedAt(c.spec, r.uses))
			line, bound := entry(r)
			if bound {
				res.Bound++
			} else {
				res.ToFill++
			}
			for _, l := range strings.Split(line, "\n") {
				w("%s%s\n", extra, l)
			}
		}
	}
	outDir := filepath.Dir(o.Out)
	fnDir := o.FunctionsDir
	if fnDir == "" {
		fnDir = filepath.Join(filepath.Dir(doc.File), "functions")
	}
	section("functions:", "                # cloud_functions and function authorizers, by function_id", c.functions, func(r *resource) (string, bool) {
		tags := ""
		if len(r.tags) > 0 {
			ts := make([]string, 0, len(r.tags))
			for t := range r.tags {
				ts = append(ts, t)
			}
			sort.Strings(ts)
			tags = "  # tags " + strings.Join(ts, ", ") + ` ("` + r.id + `:<tag>" binds one)`
		}
		for _, f := range []struct{ file, runtime string }{{"index.py", "python"}, {"index.js", "nodejs"}} {
			dir := filepath.Join(fnDir, r.id)
			if st, err := os.Stat(filepath.Join(dir, f.file)); err == nil && st.Mode().IsRegular() {
				return fmt.Sprintf("  %s: {runtime: %s, handler: index.handler, dir: %s}%s", quote(r.id), f.runtime, quote(rel(outDir, dir)), tags), true
			}
		}
		return fmt.Sprintf("  # bind it to one of: runtime + handler + dir (your code, unchanged), url (an invoke URL),\n"+
			"  # command (your own adapter), yandex (the real function, with a service account key),\n"+
			"  # or mock: true (answers from the spec's responses until the code exists; docs/mock.md):\n"+
			"  # %s: {runtime: python, handler: index.handler, dir: ./functions/%s}%s", quote(r.id), r.id, tags), false
	})
	section("containers:", "               # serverless_containers, by container_id", c.containers, func(r *resource) (string, bool) {
		return fmt.Sprintf("  # bind it to the URL where the container's server listens (or mock: true, to answer from the spec):\n  # %s: {url: http://127.0.0.1:8081}", quote(r.id)), false
	})
	section("datasphere:", "               # cloud_datasphere, by node_id", c.nodes, func(r *resource) (string, bool) {
		return fmt.Sprintf("  # bind it to the URL of the node's server:\n  # %s: {url: http://127.0.0.1:8500/predict}", quote(r.id)), false
	})
	if len(c.buckets) > 0 {
		w("\nobject_storage:")
	}
	section("  buckets:", "                  # object_storage, by bucket", c.buckets, func(r *resource) (string, bool) {
		return fmt.Sprintf("  # a local directory (relative to this file), or an S3-compatible endpoint with keys:\n"+
			"  #   %s: {dir: ./%s}\n  #   %s: {endpoint: https://storage.yandexcloud.net, access_key_id: ..., secret_access_key: ...}",
			quote(r.id), r.id, quote(r.id)), false
	})
	keyed := func(kind, endpoint string) func(r *resource) (string, bool) {
		return func(r *resource) (string, bool) {
			return fmt.Sprintf("  # %s-compatible endpoint and its keys (or service_account_key_file):\n  # %s: {endpoint: %s, access_key_id: ..., secret_access_key: ...}",
				kind, quote(r.id), endpoint), false
		}
	}
	section("queues:", "                   # cloud_ymq, by queue_url (\"default\" catches the rest)", c.queues, keyed("an SQS", "https://message-queue.api.cloud.yandex.net"))
	section("streams:", "                  # cloud_datastreams, by stream_name (\"default\" catches the rest)", c.streams, keyed("a Kinesis", "https://yds.serverless.yandexcloud.net"))
	section("ydb:", "                      # cloud_ydb, by database (\"default\" catches the rest)", c.databases, keyed("a DynamoDB", "https://docapi.serverless.yandexcloud.net/<database>"))
	section("service_accounts:", "         # service_account_id → its authorized key (without one, calls go out without an IAM token)", c.accounts, func(r *resource) (string, bool) {
		return fmt.Sprintf("  # the key `yc iam key create` writes (relative to this file), or a variable holding its JSON:\n  # %s: {service_account_key_file: sa-key.json}", quote(r.id)), false
	})
	return []byte(b.String()), res
}

func sorted(m map[string]*resource) []*resource {
	out := make([]*resource, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// usedAt is "used at api.yaml:12 (GET /hello), api.yaml:30 (authorizer key)".
func usedAt(file string, uses []use) string {
	if len(uses) == 0 {
		return "not used by any operation"
	}
	parts := make([]string, 0, len(uses))
	for _, u := range uses {
		p := file + ":" + strconv.Itoa(u.line)
		if u.what != "" {
			p += " (" + u.what + ")"
		}
		parts = append(parts, p)
	}
	return "used at " + strings.Join(parts, ", ")
}

// varLines finds the lines that use ${var.name}.
func varLines(src []byte, name string) []use {
	re := regexp.MustCompile(`\$\{var\.` + regexp.QuoteMeta(name) + `\}`)
	var out []use
	for i, line := range strings.Split(string(src), "\n") {
		if re.MatchString(line) {
			out = append(out, use{line: i + 1})
		}
	}
	return out
}

func rel(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil {
		if !strings.HasPrefix(r, ".") {
			r = "./" + r
		}
		return r
	}
	return path
}

// quote writes a YAML scalar safely: anything that is not a plain
// word is double-quoted.
var plain = regexp.MustCompile(`^[A-Za-z0-9_./][A-Za-z0-9_./\-]*$`)

func quote(s string) string {
	if plain.MatchString(s) && !isYAMLWord(s) {
		return s
	}
	return strconv.Quote(s)
}

func isYAMLWord(s string) bool {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
