package router

import (
	"fmt"
	"reflect"
	"testing"
)

func build(t testing.TB, ignore bool, templates ...string) *Router[string] {
	t.Helper()
	r := New[string](ignore)
	for _, tmpl := range templates {
		if _, err := r.Add(tmpl, tmpl); err != nil {
			t.Fatalf("Add(%q): %v", tmpl, err)
		}
	}
	return r
}

func TestMatchPrecedence(t *testing.T) {
	tests := []struct {
		desc      string
		templates []string
		ignore    bool
		path      string
		want      string // "" means no match
		params    []Param
	}{
		// The worked examples of the documentation (digest §2.4) and the
		// conformance cases of §11.
		{"third segment: fixed beats param", []string{"/a/{param2}/{param3}", "/a/{param1}/b"}, true, "/a/x/b", "/a/{param1}/b", []Param{{"param1", "x"}}},
		{"second segment: fixed beats param", []string{"/a/{param2}/d", "/a/b/{param1}"}, true, "/a/b/d", "/a/b/{param1}", []Param{{"param1", "d"}}},
		{"parameterized beats greedy", []string{"/a/b/{param+}", "/a/{param2}/d"}, true, "/a/b/d", "/a/{param2}/d", []Param{{"param2", "b"}}},
		{"all segments tie: longer template", []string{"/a/{prm}", "/a/{param}"}, true, "/a/z", "/a/{param}", []Param{{"param", "z"}}},
		{"greedy vs greedy: longer template", []string{"/a/{param2}/{prm+}", "/a/{param1}/{param+}"}, true, "/a/x/y/z", "/a/{param1}/{param+}", []Param{{"param1", "x"}, {"param", "y/z"}}},
		{"fixed beats parameterized", []string{"/users/{id}", "/users/me"}, true, "/users/me", "/users/me", nil},
		{"parameterized still matches others", []string{"/users/{id}", "/users/me"}, true, "/users/42", "/users/{id}", []Param{{"id", "42"}}},
		{"greedy at the end", []string{"/static/{file+}"}, true, "/static/js/app.js", "/static/{file+}", []Param{{"file", "js/app.js"}}},
		{"greedy in the middle", []string{"/prefix/{p+}/suffix"}, true, "/prefix/a/b/suffix", "/prefix/{p+}/suffix", []Param{{"p", "a/b"}}},
		{"greedy in the middle needs the suffix", []string{"/prefix/{p+}/suffix"}, true, "/prefix/a/b", "", nil},
		{"greedy does not match the root", []string{"/{path+}"}, true, "/", "", nil},
		{"greedy proxy matches one segment", []string{"/{path+}"}, true, "/x", "/{path+}", []Param{{"path", "x"}}},
		{"root next to greedy", []string{"/{path+}", "/"}, true, "/", "/", nil},
		{"trailing slash ignored by default", []string{"/pets"}, true, "/pets/", "/pets", nil},
		{"trailing slash significant when asked", []string{"/pets"}, false, "/pets/", "", nil},
		{"trailing slash template matches bare path", []string{"/pets/"}, true, "/pets", "/pets/", nil},
		{"exact trailing slash template", []string{"/pets/"}, false, "/pets/", "/pets/", nil},
		{"param does not take an empty segment", []string{"/a/{id}"}, false, "/a/", "", nil},
		{"params are decoded once", []string{"/a/{id}"}, true, "/a/x%2520y", "/a/{id}", []Param{{"id", "x%20y"}}},
		{"encoded slash stays inside a param", []string{"/a/{id}", "/a/b/c"}, true, "/a/b%2Fc", "/a/{id}", []Param{{"id", "b/c"}}},
		{"encoded literal matches fixed", []string{"/hello world"}, true, "/hello%20world", "/hello world", nil},
		{"pattern segment", []string{"/files/{name}.json", "/files/{any}"}, true, "/files/a.json", "/files/{name}.json", []Param{{"name", "a"}}},
		{"pattern falls back to param", []string{"/files/{name}.json", "/files/{any}"}, true, "/files/a.xml", "/files/{any}", []Param{{"any", "a.xml"}}},
		{"backtracks from a dead fixed branch", []string{"/a/b/c", "/a/{x}/d"}, true, "/a/b/d", "/a/{x}/d", []Param{{"x", "b"}}},
		{"greedy backtracks over segments", []string{"/{a+}/x/{b+}"}, true, "/1/x/2/x/3", "/{a+}/x/{b+}", []Param{{"a", "1"}, {"b", "2/x/3"}}},
		{"no route", []string{"/a"}, true, "/b", "", nil},
		{"different segment count", []string{"/a/{x}"}, true, "/a/b/c", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := build(t, tt.ignore, tt.templates...)
			v, _, ps, ok := r.Match(tt.path, nil)
			if tt.want == "" {
				if ok {
					t.Fatalf("Match(%q) = %q, want no match", tt.path, v)
				}
				return
			}
			if !ok || v != tt.want {
				t.Fatalf("Match(%q) = %q, %v; want %q", tt.path, v, ok, tt.want)
			}
			if !reflect.DeepEqual(ps, tt.params) {
				t.Fatalf("params = %v, want %v", ps, tt.params)
			}
		})
	}
}

func TestAddErrors(t *testing.T) {
	for _, tmpl := range []string{"noslash", "/a/{", "/a/}", "/a/{}", "/a/{x}{y}", "/a/x{p+}", "/{a}/{a}"} {
		r := New[string](true)
		if _, err := r.Add(tmpl, tmpl); err == nil {
			t.Errorf("Add(%q) succeeded, want an error", tmpl)
		}
	}
	r := New[string](true)
	r.Add("/pets", "a")
	if _, err := r.Add("/pets/", "b"); err == nil {
		t.Error("duplicate /pets and /pets/ accepted with ignoreTrailingSlashes")
	}
}

func TestShadowed(t *testing.T) {
	r := build(t, true, "/a/{prm}", "/a/{param}")
	if got := r.Shadowed(); len(got) != 1 || got[0].Template != "/a/{prm}" || got[0].By != "/a/{param}" {
		t.Fatalf("Shadowed() = %v", got)
	}
}

func TestRoutesOrder(t *testing.T) {
	r := build(t, true, "/{rest+}", "/a/{x}", "/a/b", "/a/{x}/{y+}", "/a/{x}/c")
	var got []string
	for _, rt := range r.Routes() {
		got = append(got, rt.Template.Raw)
	}
	want := []string{"/a/b", "/a/{x}/c", "/a/{x}", "/a/{x}/{y+}", "/{rest+}"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Routes() = %v, want %v", got, want)
	}
}

func TestStaticMatchDoesNotAllocate(t *testing.T) {
	r := build(t, true, "/a/b/c", "/a/{x}/c")
	allocs := testing.AllocsPerRun(100, func() { r.Match("/a/b/c", nil) })
	if allocs != 0 {
		t.Fatalf("static match allocates %v times", allocs)
	}
}

func manyRoutes(n int) []string {
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		out = append(out, fmt.Sprintf("/svc%d/items", i), fmt.Sprintf("/svc%d/items/{id}", i),
			fmt.Sprintf("/svc%d/items/{id}/tags/{tag}", i), fmt.Sprintf("/svc%d/files/{path+}", i))
	}
	return out[:n]
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{100, 10000} {
		r := build(b, true, manyRoutes(n)...)
		mid := n / 8
		cases := map[string]string{
			"static":        fmt.Sprintf("/svc%d/items", mid),
			"param":         fmt.Sprintf("/svc%d/items/42/tags/x", mid),
			"greedy":        fmt.Sprintf("/svc%d/files/a/b/c.txt", mid),
			"miss":          "/nope/items/1",
			"static-escape": fmt.Sprintf("/svc%d/it%%65ms", mid),
		}
		for name, path := range cases {
			b.Run(fmt.Sprintf("%s/routes=%d", name, n), func(b *testing.B) {
				ps := make([]Param, 0, 8)
				b.ReportAllocs()
				for b.Loop() {
					_, _, ps, _ = r.Match(path, ps[:0])
				}
			})
		}
	}
}
