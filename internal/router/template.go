// Package router matches request paths against OpenAPI path templates with
// the Yandex Cloud API Gateway precedence: fixed templates beat parameterized
// ones, which beat greedy ones; within parameterized templates the first
// segment (from the left) where a fixed segment meets a parameter decides, and
// full ties go to the longer template; within greedy ones the longer template
// wins.
//
// Everything is compiled once by New; Match only walks a trie, so its cost
// depends on the path, not on the number of routes, and a fixed match is one
// map lookup with no allocation.
package router

import (
	"fmt"
	"strings"
)

// Class is a template's precedence class.
type Class int

const (
	Fixed         Class = iota // no parameters
	Parameterized              // {param}, no greedy parameter
	Greedy                     // at least one {param+}
)

func (c Class) String() string {
	return [...]string{"fixed", "parameterized", "greedy"}[c]
}

type segKind int

const (
	segLiteral segKind = iota
	segPattern         // prefix{param}suffix with a non-empty prefix or suffix
	segParam           // {param}
	segGreedy          // {param+}
)

type segment struct {
	kind           segKind
	literal        string // segLiteral
	prefix, suffix string // segPattern
	name           string // parameter name
}

// Template is a parsed path template.
type Template struct {
	Raw      string
	Class    Class
	segments []segment
}

// Params names the template's parameters in order of appearance.
func (t *Template) Params() []string {
	var out []string
	for _, s := range t.segments {
		if s.kind != segLiteral {
			out = append(out, s.name)
		}
	}
	return out
}

// IsGreedy reports whether the named parameter is a greedy {name+} one.
func (t *Template) IsGreedy(name string) bool {
	for _, s := range t.segments {
		if s.kind == segGreedy && s.name == name {
			return true
		}
	}
	return false
}

// Parse parses a path template. ignoreTrailingSlash drops one trailing "/"
// (except for the root), as request paths are treated the same way.
func Parse(raw string, ignoreTrailingSlash bool) (*Template, error) {
	if !strings.HasPrefix(raw, "/") {
		return nil, fmt.Errorf("a path template must start with \"/\"")
	}
	p := raw
	if ignoreTrailingSlash && len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	t := &Template{Raw: raw, Class: Fixed}
	seen := map[string]bool{}
	for _, part := range strings.Split(p[1:], "/") {
		s, err := parseSegment(part)
		if err != nil {
			return nil, err
		}
		if s.kind != segLiteral {
			if seen[s.name] {
				return nil, fmt.Errorf("parameter {%s} appears twice", s.name)
			}
			seen[s.name] = true
			if s.kind == segGreedy {
				t.Class = Greedy
			} else if t.Class == Fixed {
				t.Class = Parameterized
			}
		}
		t.segments = append(t.segments, s)
	}
	return t, nil
}

func parseSegment(part string) (segment, error) {
	open := strings.IndexByte(part, '{')
	if open < 0 {
		if strings.IndexByte(part, '}') >= 0 {
			return segment{}, fmt.Errorf("segment %q has \"}\" without \"{\"", part)
		}
		return segment{kind: segLiteral, literal: part}, nil
	}
	end := strings.IndexByte(part[open:], '}')
	if end < 0 {
		return segment{}, fmt.Errorf("segment %q has \"{\" without \"}\"", part)
	}
	end += open
	name := part[open+1 : end]
	prefix, suffix := part[:open], part[end+1:]
	if strings.ContainsAny(suffix, "{}") {
		return segment{}, fmt.Errorf("segment %q has more than one parameter; use one parameter per segment", part)
	}
	greedy := strings.HasSuffix(name, "+")
	if greedy {
		name = name[:len(name)-1]
	}
	if name == "" {
		return segment{}, fmt.Errorf("segment %q has an empty parameter name", part)
	}
	if strings.ContainsAny(name, "{}+") {
		return segment{}, fmt.Errorf("invalid parameter name %q", name)
	}
	switch {
	case greedy && (prefix != "" || suffix != ""):
		return segment{}, fmt.Errorf("greedy parameter {%s+} must fill its whole segment", name)
	case greedy:
		return segment{kind: segGreedy, name: name}, nil
	case prefix == "" && suffix == "":
		return segment{kind: segParam, name: name}, nil
	default:
		return segment{kind: segPattern, name: name, prefix: prefix, suffix: suffix}, nil
	}
}

// shape is the template with parameter names erased: two templates with the
// same shape match exactly the same paths.
func (t *Template) shape() string {
	var b strings.Builder
	for _, s := range t.segments {
		b.WriteByte('/')
		switch s.kind {
		case segLiteral:
			b.WriteString(s.literal)
		case segPattern:
			b.WriteString(s.prefix + "{}" + s.suffix)
		case segParam:
			b.WriteString("{}")
		case segGreedy:
			b.WriteString("{+}")
		}
	}
	return b.String()
}

// Less orders templates by match priority (the order `apigw routes` prints).
func Less(a, b *Template) bool {
	if a.Class != b.Class {
		return a.Class < b.Class
	}
	if a.Class == Parameterized {
		n := min(len(a.segments), len(b.segments))
		for i := 0; i < n; i++ {
			ka, kb := a.segments[i].kind, b.segments[i].kind
			if ka != kb {
				return ka < kb
			}
		}
	}
	if a.Class != Fixed && len(a.Raw) != len(b.Raw) {
		return len(a.Raw) > len(b.Raw)
	}
	return a.Raw < b.Raw // fixed templates never compete: list them sorted
}
