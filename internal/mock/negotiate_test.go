package mock

import (
	"sort"
	"strings"
	"testing"
)

func TestParsePrefer(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want Prefer
	}{
		{[]string{"code=404"}, Prefer{Code: "404"}},
		{[]string{`code="404", example=missing`}, Prefer{Code: "404", Example: "missing"}},
		{[]string{"dynamic=true; respond-async", "auth=deny"}, Prefer{Dynamic: true, Deny: true}},
		{[]string{"return=minimal, wait=5"}, Prefer{}},
		{[]string{"Code = 201"}, Prefer{Code: "201"}},
	} {
		if got := ParsePrefer(tc.in); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	r := &response{media: []media{{name: "application/json"}, {name: "text/csv"}, {name: "application/xml"}}}
	for _, tc := range []struct {
		accept []string
		want   string // "" for 406
	}{
		{nil, "application/json"},
		{[]string{"*/*"}, "application/json"},
		{[]string{"text/csv"}, "text/csv"},
		{[]string{"text/*"}, "text/csv"},
		{[]string{"application/*;q=0.9, text/csv;q=0.5"}, "application/json"},
		{[]string{"application/xml, application/json;q=0.8"}, "application/xml"},
		{[]string{"application/json;q=0", "*/*;q=0.1"}, "text/csv"},
		{[]string{"image/png"}, ""},
		{[]string{"garbage"}, "application/json"},
	} {
		md, err := r.negotiate(tc.accept)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: %s, want 406", tc.accept, md.name)
		case tc.want != "" && (err != nil || md.name != tc.want):
			t.Errorf("%q: %v %v, want %s", tc.accept, md, err, tc.want)
		}
	}
}

func FuzzHeaders(f *testing.F) {
	f.Add("code=404, example=x", "text/*;q=0.5, */*")
	f.Fuzz(func(t *testing.T, prefer, accept string) {
		ParsePrefer([]string{prefer})
		r := &response{media: []media{{name: "application/json"}, {name: "text/plain"}}}
		r.negotiate([]string{accept})
	})
}

// Response keys sort 2xx first, ranges after their codes, default and
// anything OpenAPI does not define last, without panicking on any.
func TestRank(t *testing.T) {
	keys := []string{"default", "", "404", "2XX", "201", "x", "1XX", "200"}
	want := []string{"200", "201", "2XX", "1XX", "404", "default", "", "x"}
	sort.SliceStable(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("%v, want %v", keys, want)
	}
}
