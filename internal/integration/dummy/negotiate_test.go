package dummy

import "testing"

// variants builds an Integration with the given content keys in document
// order ("*" becomes the fallback).
func variants(keys ...string) *Integration {
	d := &Integration{}
	for _, k := range keys {
		if k == "*" {
			d.fallback = &variant{mediaType: "*"}
			continue
		}
		m, _ := parseMediaRange(k)
		d.variants = append(d.variants, variant{mediaType: k, typ: m.typ, sub: m.sub})
	}
	return d
}

func TestChoose(t *testing.T) {
	tests := []struct {
		desc   string
		keys   []string
		accept []string
		want   string // "" means 415
	}{
		{"exact match", []string{"application/json", "text/plain"}, []string{"text/plain"}, "text/plain"},
		{"no match falls back to *", []string{"application/json", "*"}, []string{"text/csv"}, "*"},
		{"no match and no * is 415", []string{"application/json"}, []string{"application/xml"}, ""},
		{"no Accept: * when present", []string{"application/json", "*"}, nil, "*"},
		{"no Accept: the first key otherwise", []string{"text/html", "application/json"}, nil, "text/html"},
		{"*/* takes the first in document order", []string{"text/html", "application/json"}, []string{"*/*"}, "text/html"},
		{"quality decides", []string{"application/json", "text/plain"}, []string{"application/json;q=0.5, text/plain"}, "text/plain"},
		{"type wildcard", []string{"application/json", "text/csv"}, []string{"text/*"}, "text/csv"},
		{"specific range beats wildcard for the same variant", []string{"text/html", "text/plain"}, []string{"text/*;q=0.9, text/plain;q=0.1"}, "text/html"},
		{"q=0 refuses a variant", []string{"application/json", "*"}, []string{"application/json;q=0"}, "*"},
		{"case-insensitive media types", []string{"application/json"}, []string{"Application/JSON"}, "application/json"},
		{"several Accept lines", []string{"application/json", "text/plain"}, []string{"image/png", "text/plain"}, "text/plain"},
		{"garbage Accept falls back", []string{"application/json", "*"}, []string{"garbage"}, "*"},
		{"parameters are ignored for matching", []string{"text/plain"}, []string{"text/plain; charset=utf-8"}, "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := variants(tt.keys...).choose(tt.accept)
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("choose(%q) = %q, want none (415)", tt.accept, got.mediaType)
			case tt.want != "" && got == nil:
				t.Fatalf("choose(%q) = none, want %q", tt.accept, tt.want)
			case got != nil && got.mediaType != tt.want:
				t.Fatalf("choose(%q) = %q, want %q", tt.accept, got.mediaType, tt.want)
			}
		})
	}
}
