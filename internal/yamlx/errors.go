// Package yamlx holds what every YAML-reading package of apigw shares: source
// positions, errors that carry them, and strict decoding of a node into a struct
// (an unknown key is an error with its line, never a silent default).
package yamlx

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem at one place of a YAML file. Its text is the
// compiler-like "FILE:LINE:COL: path: message" that editors and CI logs link.
type Error struct {
	File    string
	Line    int
	Col     int
	Path    string // e.g. paths./users/{id}.get.x-yc-apigateway-integration
	Msg     string
	Warning bool // reported, but does not stop the spec from serving
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At makes an error positioned at node n (n may be nil).
func At(n *yaml.Node, path, format string, args ...any) *Error {
	e := &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// List collects every problem found in one pass so that a user sees all of
// them at once, not one per run.
type List []*Error

func (l *List) Add(e ...*Error) { *l = append(*l, e...) }

// Errorf adds an error positioned at n.
func (l *List) Errorf(n *yaml.Node, path, format string, args ...any) {
	l.Add(At(n, path, format, args...))
}

// Warnf adds a warning positioned at n.
func (l *List) Warnf(n *yaml.Node, path, format string, args ...any) {
	e := At(n, path, format, args...)
	e.Warning = true
	l.Add(e)
}

// Errors returns only the entries that are not warnings.
func (l List) Errors() List {
	var out List
	for _, e := range l {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns only the warnings.
func (l List) Warnings() List {
	var out List
	for _, e := range l {
		if e.Warning {
			out = append(out, e)
		}
	}
	return out
}

// SetFile stamps the file name on every entry that has none.
func (l List) SetFile(file string) {
	for _, e := range l {
		if e.File == "" {
			e.File = file
		}
	}
}

// Sort orders entries by position, which is how a reader scans a file.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
}

// Dedup drops repeated entries (the same message at the same place), which
// two stages may both find, or one component reached through several $refs
// gives once per use: only the first use's path is kept.
func (l List) Dedup() List {
	seen := map[string]bool{}
	out := l[:0:0]
	for _, e := range l {
		k := e.Error()
		if e.Line > 0 {
			k = fmt.Sprintf("%s:%d:%d:%t:%s", e.File, e.Line, e.Col, e.Warning, e.Msg)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// Err returns the list as an error if it holds any non-warning entry.
func (l List) Err() error {
	if len(l.Errors()) == 0 {
		return nil
	}
	return l.Errors()
}

func (l List) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}
