package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	b, errs := Parse([]byte("listen: :9000\nvariables: {env: prod, n: 3}\nlimits: {max_request_body: 1MB, execution_timeout: 1m, shutdown_timeout: 2.5}\nfunctions: {fn1: {url: 'http://x'}}\n"))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	if b.Listen != ":9000" || b.Admin != DefaultAdmin || b.Limits.MaxRequestBody != 1<<20 ||
		b.Limits.ExecutionTimeout.D() != time.Minute || b.Limits.ShutdownTimeout.D() != 2500*time.Millisecond {
		t.Errorf("bindings = %+v", b)
	}
	if v := b.VariableValues(); v["env"] != "prod" || v["n"] != "3" {
		t.Errorf("variables = %v", v)
	}
	d := Default()
	if d.Limits.MaxRequestBody != 2621440 || d.Limits.ExecutionTimeout.D() != 300*time.Second || d.Routing.MethodNotAllowed != 405 {
		t.Errorf("defaults = %+v", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"listn: :1\n", "1:1: unknown key \"listn\""},
		{"limits:\n  body: 1MB\n", "2:3: limits: unknown key \"body\""},
		{"limits:\n  max_request_body: lots\n", "2:21: limits.max_request_body: \"lots\" is not a size"},
		{"limits:\n  execution_timeout: soon\n", "2:22: limits.execution_timeout: \"soon\" is not a duration"},
		{"routing: {method_not_allowed: 403}\n", "1:31: routing.method_not_allowed: must be 404 or 405"},
		{"variables: {a: [1]}\n", "1:16: variables.a: a variable value must be a string"},
		{"- a\n", "1:1: the bindings file must be a mapping"},
	}
	for _, tt := range tests {
		_, errs := Parse([]byte(tt.src))
		if errs.Err() == nil || !strings.Contains(errs.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.src, errs, tt.want)
		}
	}
}

func TestParseBindingsOfResources(t *testing.T) {
	src := `functions:
  fn1: {url: 'http://127.0.0.1:9000/invoke'}
  fn1:beta: {runtime: python, handler: index.handler, dir: ./fn}
  default: {command: [./my-adapter], env: {A: "1"}}
containers:
  c1: {url: 'http://127.0.0.1:8081', read_timeout: 5s}
datasphere:
  n1: {url: 'https://ml.internal/node'}
`
	b, errs := Parse([]byte(src))
	if errs.Err() != nil {
		t.Fatal(errs)
	}
	for _, tt := range []struct{ id, tag, want string }{
		{"fn1", "$latest", "url"}, {"fn1", "beta", "runtime"}, {"other", "$latest", "command"},
	} {
		if f := b.Function(tt.id, tt.tag); f == nil || f.Kind() != tt.want {
			t.Errorf("Function(%s, %s) = %+v, want a %s binding", tt.id, tt.tag, f, tt.want)
		}
	}
	if b.Containers["c1"].ReadTimeout.D() != 5*time.Second || b.DataSphere["n1"].URL != "https://ml.internal/node" {
		t.Errorf("containers/datasphere = %+v %+v", b.Containers["c1"], b.DataSphere["n1"])
	}
}

func TestParseBindingsOfResourcesErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"functions:\n  fn1: {}\n", "2:8: functions.fn1: needs one of url (an invoke endpoint), command"},
		{"functions:\n  fn1: {url: 'http://x', runtime: python}\n", "functions.fn1: give only one of url, command, runtime and yandex"},
		{"functions:\n  fn1: {url: 'ftp://x'}\n", "2:14: functions.fn1.url: must be an http:// or https:// URL"},
		{"functions:\n  fn1: {runtime: ruby, handler: a.b}\n", "2:18: functions.fn1.runtime: must be one of nodejs, python"},
		{"functions:\n  fn1: {runtime: python, handler: main}\n", "functions.fn1.handler: must name the file and the function"},
		{"functions:\n  fn1: {url: 'http://x', handlr: a.b}\n", "2:26: functions.fn1: unknown key \"handlr\""},
		{"containers:\n  c1: {url: 'nope'}\n", "2:13: containers.c1.url: needs an http:// or https:// URL"},
		{"datasphere:\n  n1: {}\n", "datasphere.n1.url: needs an http:// or https:// URL"},
	}
	for _, tt := range tests {
		_, errs := Parse([]byte(tt.src))
		if errs.Err() == nil || !strings.Contains(errs.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.src, errs, tt.want)
		}
	}
}
