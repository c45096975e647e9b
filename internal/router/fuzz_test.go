package router

import (
	"strings"
	"testing"
)

// naiveMatch is the reference: try every template, keep the best by the
// documented precedence (Less), no trie involved.
func naiveMatch(templates []*Template, path string, ignore bool) *Template {
	if ignore && len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	segs := strings.Split(path[1:], "/")
	for i, s := range segs {
		segs[i] = decode(s)
	}
	var best *Template
	for _, t := range templates {
		if naiveSegs(t.segments, segs) && (best == nil || Less(t, best)) {
			best = t
		}
	}
	return best
}

func naiveSegs(tmpl []segment, segs []string) bool {
	if len(tmpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 {
		return false
	}
	s := tmpl[0]
	switch s.kind {
	case segLiteral:
		return s.literal == segs[0] && naiveSegs(tmpl[1:], segs[1:])
	case segParam:
		return segs[0] != "" && naiveSegs(tmpl[1:], segs[1:])
	case segGreedy:
		for n := 1; n <= len(segs); n++ {
			if strings.Join(segs[:n], "/") != "" && naiveSegs(tmpl[1:], segs[n:]) {
				return true
			}
		}
	}
	return false
}

// FuzzMatch checks the trie router against the naive reference matcher on
// random template sets (literal, {param} and {param+} segments) and paths.
func FuzzMatch(f *testing.F) {
	f.Add("/a/{p1}/b /a/{p2}/{p3}", "/a/x/b", true)
	f.Add("/a/b/{p+} /a/{p2}/d", "/a/b/d", true)
	f.Add("/{p+} /", "/", false)
	f.Add("/x/{a+}/y/{b} /x/{c}/y/{d+} /x/y", "/x/1/y/2/", true)
	f.Fuzz(func(t *testing.T, templates, path string, ignore bool) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
			return
		}
		r := New[string](ignore)
		var parsed []*Template
		names := 0
		for _, raw := range strings.Fields(templates) {
			// Give every parameter a distinct name so shapes never tie on names.
			var b strings.Builder
			for _, part := range strings.Split(strings.TrimPrefix(raw, "/"), "/") {
				b.WriteByte('/')
				switch {
				case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "+}"):
					names++
					b.WriteString("{g" + string(rune('a'+names%26)) + strings.Repeat("x", names/26) + "+}")
				case strings.HasPrefix(part, "{"):
					names++
					b.WriteString("{p" + string(rune('a'+names%26)) + strings.Repeat("x", names/26) + "}")
				default:
					if strings.ContainsAny(part, "{}%") {
						return
					}
					b.WriteString(part)
				}
			}
			tm, err := r.Add(b.String(), b.String())
			if err != nil {
				continue
			}
			parsed = append(parsed, tm)
		}
		// Templates shadowed by a same-shape longer one are not candidates.
		shadowed := map[string]bool{}
		for _, s := range r.Shadowed() {
			shadowed[s.Template] = true
		}
		var live []*Template
		for _, tm := range parsed {
			if !shadowed[tm.Raw] {
				live = append(live, tm)
			}
		}
		want := naiveMatch(live, path, ignore)
		got, _, _, ok := r.Match(path, nil)
		switch {
		case want == nil && ok:
			t.Fatalf("Match(%q) = %q, reference finds nothing", path, got)
		case want != nil && (!ok || got != want.Raw):
			t.Fatalf("Match(%q) = %q (%v), reference %q", path, got, ok, want.Raw)
		}
	})
}
