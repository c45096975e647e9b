package params

import (
	"net/http/httptest"
	"testing"

	"github.com/apigw/apigw/internal/router"
	"github.com/apigw/apigw/internal/spec"
)

func TestExpand(t *testing.T) {
	declared := NewDeclared([]spec.Parameter{
		{Name: "id", In: "path"},
		{Name: "user", In: "query", Default: "world", HasDefault: true},
		{Name: "tag", In: "query"},
		{Name: "X-Trace", In: "header"},
		{Name: "session", In: "cookie"},
		{Name: "lang", In: "header", Default: "en", HasDefault: true},
	}, nil)
	tests := []struct {
		desc   string
		tmpl   string
		target string
		header map[string]string
		want   string
	}{
		{"path parameter", "/items/{id}", "/x", nil, "/items/7"},
		{"query parameter", "Hello, {user}!", "/x?user=API", nil, "Hello, API!"},
		{"absent query takes the schema default", "Hello, {user}!", "/x", nil, "Hello, world!"},
		{"present but empty query is not absent", "[{user}]", "/x?user=", nil, "[]"},
		{"first of a repeated query parameter", "{tag}", "/x?tag=a&tag=b", nil, "a"},
		{"declared, absent, no default: empty", "[{tag}]", "/x", nil, "[]"},
		{"header, named case-insensitively", "{x-trace}", "/x", map[string]string{"X-Trace": "t1"}, "t1"},
		{"header default", "{lang}", "/x", nil, "en"},
		{"cookie", "s={session}", "/x", map[string]string{"Cookie": "a=1; session=abc"}, "s=abc"},
		{"undeclared placeholder stays literal", "{Host} {id}", "/x", nil, "{Host} 7"},
		{"JSON braces stay literal", `{"id": "{id}"}`, "/x", nil, `{"id": "7"}`},
		{"unclosed brace", "{id", "/x", nil, "{id"},
		{"query values are decoded once", "{tag}", "/x?tag=a%2520b", nil, "a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			var v Request
			declared.BindTo(&v, r, []router.Param{{Name: "id", Value: "7"}})
			if got := Compile(tt.tmpl, declared).Expand(&v, nil); got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestExpandHeaderRefusesInjection(t *testing.T) {
	declared := NewDeclared([]spec.Parameter{{Name: "q", In: "query"}, {Name: "id", In: "path"}}, nil)
	tmpl := Compile("v={q}", declared)
	for _, q := range []string{"a%0d%0aSet-Cookie:%20x=1", "a%0ab", "a%00b", "a%0db"} {
		r := httptest.NewRequest("GET", "/x?q="+q, nil)
		var v Request
		declared.BindTo(&v, r, nil)
		if got, err := tmpl.ExpandHeader(&v); err == nil {
			t.Errorf("q=%s: ExpandHeader = %q, want an error", q, got)
		}
	}
	// A path parameter is decoded from the URL too: %0A must not pass either.
	var v Request
	declared.BindTo(&v, httptest.NewRequest("GET", "/x", nil), []router.Param{{Name: "id", Value: "a\nb"}})
	if _, err := Compile("{id}", declared).ExpandHeader(&v); err == nil {
		t.Error("a path parameter with LF reached a header")
	}
	declared.BindTo(&v, httptest.NewRequest("GET", "/x?q=fine%20value", nil), nil)
	if got, err := tmpl.ExpandHeader(&v); err != nil || got != "v=fine value" {
		t.Errorf("a plain value: %q, %v", got, err)
	}
}

func TestTemplateStatic(t *testing.T) {
	declared := NewDeclared([]spec.Parameter{{Name: "id", In: "path"}}, nil)
	for tmpl, static := range map[string]bool{"plain": true, "{undeclared}": true, "/a/{id}": false, "": true} {
		c := Compile(tmpl, declared)
		if c.Static() != static {
			t.Errorf("Compile(%q).Static() = %v, want %v", tmpl, c.Static(), static)
		}
		if c.String() != tmpl {
			t.Errorf("Compile(%q).String() = %q", tmpl, c.String())
		}
	}
}
