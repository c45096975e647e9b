package cors

import (
	"net/http/httptest"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func compile(t *testing.T, src string) (*Rule, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	r, errs := Compile(n.Content[0], "cors")
	return r, errs.Err()
}

func TestCompileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"{methods: GET}":                           "origin is required",
		"{origin: {a: b}}":                         "must be a boolean, a string or a list",
		"{origin: '*', optionsSuccessStatus: 301}": "must be a 2xx status",
		"{origin: '*', maxAge: -1}":                "must not be negative",
		"{origin: '*', methods: {a: b}}":           "must be a string or a list of strings",
	} {
		if _, err := compile(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("{origin: '*', allowCredentials: true, allowedHeaders: [X-A]}"), &n); err != nil {
		t.Fatal(err)
	}
	r, errs := Compile(n.Content[0], "cors")
	if r == nil || errs.Err() != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), `warning: unknown key "allowCredentials", ignored; did you mean "credentials"?`) {
		t.Fatalf("Compile = %v, %v", r, errs)
	}
	if r.allowHdr != "X-A" {
		t.Errorf("the known keys were not read: %+v", r)
	}
}

func TestAllowOrigin(t *testing.T) {
	tests := []struct {
		src, origin, want string
	}{
		{"{origin: true}", "https://a.example", "https://a.example"},
		{"{origin: 'https://fixed.example'}", "https://other.example", "https://fixed.example"},
		{"{origin: ['https://a.example', 'https://b.example']}", "https://b.example", "https://b.example"},
		{"{origin: ['https://a.example']}", "https://evil.example", ""},
		{"{origin: ['https://a.example', '*']}", "https://any.example", "*"},
	}
	for _, tt := range tests {
		r, err := compile(t, tt.src)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.Decorate(w.Header(), tt.origin)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("%s with Origin %s: %q, want %q", tt.src, tt.origin, got, tt.want)
		}
	}
	if r, _ := compile(t, "{origin: false}"); r.Active() {
		t.Error("origin: false is active")
	}
}
