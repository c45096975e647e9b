package router

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Param is one captured path parameter, percent-decoded once.
type Param struct {
	Name, Value string
}

// Router maps path templates to values of type T.
type Router[T any] struct {
	ignoreTrailingSlash bool
	static              map[string]*leaf[T]
	root                *node[T]
	shapes              map[string]*leaf[T]
	leaves              []*leaf[T]
	shadowed            []Shadow
}

// Shadow records a template that can never match because another template
// of the same shape is longer (the documented tie-break).
type Shadow struct {
	Template, By string
}

type leaf[T any] struct {
	tmpl  *Template
	value T
	names []string
}

type node[T any] struct {
	literal  map[string]*node[T]
	patterns []*patternEdge[T]
	param    *node[T]
	greedy   *node[T]
	end      *leaf[T]
}

type patternEdge[T any] struct {
	prefix, suffix string
	child          *node[T]
}

// New returns an empty router. With ignoreTrailingSlash one trailing "/" of a
// request path (and of a template) is ignored.
func New[T any](ignoreTrailingSlash bool) *Router[T] {
	return &Router[T]{
		ignoreTrailingSlash: ignoreTrailingSlash,
		static:              map[string]*leaf[T]{},
		root:                &node[T]{},
		shapes:              map[string]*leaf[T]{},
	}
}

// Add compiles a template and adds it. Two templates that match the same
// paths with the same names are an error; with different parameter names the
// longer template wins (as documented) and the other is recorded in Shadowed.
func (r *Router[T]) Add(raw string, value T) (*Template, error) {
	t, err := Parse(raw, r.ignoreTrailingSlash)
	if err != nil {
		return nil, err
	}
	l := &leaf[T]{tmpl: t, value: value, names: t.Params()}
	shape := t.shape()
	if prev, ok := r.shapes[shape]; ok {
		if prev.tmpl.shape() == shape && strings.Join(prev.names, ",") == strings.Join(l.names, ",") {
			return nil, fmt.Errorf("template %q matches exactly the same paths as %q", raw, prev.tmpl.Raw)
		}
		winner, loser := prev, l
		if Less(t, prev.tmpl) {
			winner, loser = l, prev
		}
		r.shadowed = append(r.shadowed, Shadow{Template: loser.tmpl.Raw, By: winner.tmpl.Raw})
		if winner == prev {
			r.leaves = append(r.leaves, l)
			return t, nil
		}
	}
	r.shapes[shape] = l
	r.leaves = append(r.leaves, l)
	if t.Class == Fixed {
		r.static[shape] = l
		return t, nil
	}
	n := r.root
	for _, s := range t.segments {
		n = n.child(s)
	}
	n.end = l
	return t, nil
}

func (n *node[T]) child(s segment) *node[T] {
	switch s.kind {
	case segLiteral:
		if n.literal == nil {
			n.literal = map[string]*node[T]{}
		}
		c := n.literal[s.literal]
		if c == nil {
			c = &node[T]{}
			n.literal[s.literal] = c
		}
		return c
	case segPattern:
		for _, p := range n.patterns {
			if p.prefix == s.prefix && p.suffix == s.suffix {
				return p.child
			}
		}
		p := &patternEdge[T]{prefix: s.prefix, suffix: s.suffix, child: &node[T]{}}
		n.patterns = append(n.patterns, p)
		// More literal text is more specific: try it first.
		sort.SliceStable(n.patterns, func(i, j int) bool {
			a, b := n.patterns[i], n.patterns[j]
			if la, lb := len(a.prefix)+len(a.suffix), len(b.prefix)+len(b.suffix); la != lb {
				return la > lb
			}
			return a.prefix+"{}"+a.suffix < b.prefix+"{}"+b.suffix
		})
		return p.child
	case segParam:
		if n.param == nil {
			n.param = &node[T]{}
		}
		return n.param
	default:
		if n.greedy == nil {
			n.greedy = &node[T]{}
		}
		return n.greedy
	}
}

// Shadowed lists templates that can never match.
func (r *Router[T]) Shadowed() []Shadow { return r.shadowed }

// Route is one compiled template with its value, for listings.
type Route[T any] struct {
	Template *Template
	Value    T
}

// Routes returns every template in match-priority order.
func (r *Router[T]) Routes() []Route[T] {
	out := make([]Route[T], len(r.leaves))
	for i, l := range r.leaves {
		out[i] = Route[T]{Template: l.tmpl, Value: l.value}
	}
	sort.SliceStable(out, func(i, j int) bool { return Less(out[i].Template, out[j].Template) })
	return out
}

// Match finds the template for an escaped request path (as in
// URL.EscapedPath). It appends the captured parameters to ps and returns the
// extended slice. The path should already be free of dot segments.
func (r *Router[T]) Match(path string, ps []Param) (value T, tmpl *Template, params []Param, ok bool) {
	if r.ignoreTrailingSlash && len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if l := r.lookupStatic(path); l != nil {
		return l.value, l.tmpl, ps, true
	}
	var m matcher[T]
	m.caps = m.buf[:0]
	if l := m.parameterized(r.root, path); l != nil {
		return l.value, l.tmpl, appendParams(ps, l.names, m.caps), true
	}
	m.caps = m.buf[:0]
	m.greedyMatch(r.root, path, false)
	if m.best != nil {
		return m.best.value, m.best.tmpl, appendParams(ps, m.best.names, m.bestCaps), true
	}
	return value, nil, ps, false
}

func appendParams(ps []Param, names, values []string) []Param {
	for i, n := range names {
		ps = append(ps, Param{Name: n, Value: values[i]})
	}
	return ps
}

func (r *Router[T]) lookupStatic(path string) *leaf[T] {
	if strings.IndexByte(path, '%') < 0 {
		return r.static[path]
	}
	var b strings.Builder
	for _, seg := range strings.Split(path[1:], "/") {
		d := decode(seg)
		if strings.IndexByte(d, '/') >= 0 {
			return nil // an encoded slash is data, never a separator
		}
		b.WriteByte('/')
		b.WriteString(d)
	}
	return r.static[b.String()]
}

// decode percent-decodes one segment; a malformed escape stays as it is.
func decode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return d
}

// matcher holds the state of one Match call on the stack.
type matcher[T any] struct {
	buf      [8]string
	caps     []string
	best     *leaf[T]
	bestCaps []string
}

// cut splits "/seg/rest" into "seg" and "/rest".
func cut(path string) (seg, rest string) {
	path = path[1:]
	if i := strings.IndexByte(path, '/'); i >= 0 {
		return path[:i], path[i:]
	}
	return path, ""
}

// parameterized walks fixed edges before parameter edges, so the first match
// is the one the documented left-to-right rule prefers.
func (m *matcher[T]) parameterized(n *node[T], path string) *leaf[T] {
	if path == "" {
		return n.end
	}
	seg, rest := cut(path)
	d := decode(seg)
	if c := n.literal[d]; c != nil {
		if l := m.parameterized(c, rest); l != nil {
			return l
		}
	}
	if d == "" {
		return nil
	}
	for _, p := range n.patterns {
		if v, ok := p.match(d); ok {
			m.caps = append(m.caps, v)
			if l := m.parameterized(p.child, rest); l != nil {
				return l
			}
			m.caps = m.caps[:len(m.caps)-1]
		}
	}
	if n.param != nil {
		m.caps = append(m.caps, d)
		if l := m.parameterized(n.param, rest); l != nil {
			return l
		}
		m.caps = m.caps[:len(m.caps)-1]
	}
	return nil
}

func (p *patternEdge[T]) match(d string) (string, bool) {
	if len(d) <= len(p.prefix)+len(p.suffix) || !strings.HasPrefix(d, p.prefix) || !strings.HasSuffix(d, p.suffix) {
		return "", false
	}
	return d[len(p.prefix) : len(d)-len(p.suffix)], true
}

// greedyMatch explores every way the path can match a template with a greedy
// parameter and keeps the best (longest template, then the smaller string).
func (m *matcher[T]) greedyMatch(n *node[T], path string, usedGreedy bool) {
	if path == "" {
		if usedGreedy && n.end != nil && (m.best == nil || Less(n.end.tmpl, m.best.tmpl)) {
			m.best = n.end
			m.bestCaps = append(m.bestCaps[:0], m.caps...)
		}
		return
	}
	seg, rest := cut(path)
	d := decode(seg)
	if c := n.literal[d]; c != nil {
		m.greedyMatch(c, rest, usedGreedy)
	}
	if d != "" {
		for _, p := range n.patterns {
			if v, ok := p.match(d); ok {
				m.caps = append(m.caps, v)
				m.greedyMatch(p.child, rest, usedGreedy)
				m.caps = m.caps[:len(m.caps)-1]
			}
		}
		if n.param != nil {
			m.caps = append(m.caps, d)
			m.greedyMatch(n.param, rest, usedGreedy)
			m.caps = m.caps[:len(m.caps)-1]
		}
	}
	if n.greedy != nil {
		// Capture one or more whole segments: path[1:end] for every segment end.
		for end := 1; end <= len(path); end++ {
			if end < len(path) && path[end] != '/' {
				continue
			}
			raw := path[1:end]
			if raw == "" {
				continue // a greedy parameter needs at least one non-empty segment
			}
			m.caps = append(m.caps, decodeGreedy(raw))
			m.greedyMatch(n.greedy, path[end:], true)
			m.caps = m.caps[:len(m.caps)-1]
		}
	}
}

// decodeGreedy decodes each segment of a multi-segment value, keeping the
// separating slashes.
func decodeGreedy(raw string) string {
	if strings.IndexByte(raw, '%') < 0 {
		return raw
	}
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		parts[i] = decode(p)
	}
	return strings.Join(parts, "/")
}
