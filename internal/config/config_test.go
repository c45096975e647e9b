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
