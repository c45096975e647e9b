package yamlx

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decode decodes n into v (a pointer to a struct) strictly: every mapping key
// must name a field (through its yaml tag), recursively. Type mismatches are
// reported at the offending node. path is the spec path of n, used in errors.
// The bindings file is decoded this way: it is apigw's own, and a typo there
// must never silently become a default.
//
// yaml.v3 can reject unknown fields only for a whole document and only with a
// line number; checking keys ourselves gives line, column and the dotted path.
func Decode(n *yaml.Node, v any, path string) List {
	return decode(n, v, path, true)
}

// Aliases are other spellings of a key that the cloud accepts wherever the
// canonical key is allowed (alias → canonical): its parameter tables and its
// examples spell the service account both ways, and older client libraries
// write service_account. DecodeExtension reads them as the canonical key.
var Aliases = map[string]string{
	"serviceAccountId": "service_account_id",
	"service_account":  "service_account_id",
}

// DecodeExtension decodes an x-yc-* object of the spec the way the cloud
// reads it: a key that v does not know is a warning naming the closest known
// key, and is ignored; a key of Aliases decodes as its canonical key (giving
// both is an error). Published specs carry keys that the documentation does
// not list and that the cloud ignores: refusing them would block specs that
// work there, while the warning still shows a typo.
func DecodeExtension(n *yaml.Node, v any, path string) List {
	return decode(n, v, path, false)
}

func decode(n *yaml.Node, v any, path string, strict bool) List {
	var errs List
	n = checkKeys(Deref(n), reflect.TypeOf(v), path, strict, &errs)
	if len(errs.Errors()) > 0 {
		return errs
	}
	if err := n.Decode(v); err != nil {
		errs.Add(typeErrors(n, path, err)...)
	}
	return errs
}

// checkKeys checks the keys of n against type t, recursively. Strict, a
// key t does not know is an error (with the allowed keys) and n is
// returned as it is. Otherwise such a key is a warning, and the result is
// a copy of n without it and with Aliases renamed; nodes that need no
// change are shared, so positions stay those of the document.
func checkKeys(n *yaml.Node, t reflect.Type, path string, strict bool, errs *List) *yaml.Node {
	if n == nil || t == nil || decodesItself(t) {
		return n
	}
	t = indirect(t)
	// out is nil until the first change; then it holds the content so far.
	var out []*yaml.Node
	changed := false
	start := func(i int) {
		if !changed {
			out = append(make([]*yaml.Node, 0, len(n.Content)), n.Content[:i]...)
			changed = true
		}
	}
	keep := func(nodes ...*yaml.Node) {
		if changed {
			out = append(out, nodes...)
		}
	}
	child := func(v *yaml.Node, t reflect.Type, path string) *yaml.Node {
		d := Deref(v)
		if c := checkKeys(d, t, path, strict, errs); c != d {
			return c
		}
		return v
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return n
		}
		fields, order := fieldNames(t)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			ft, ok := fields[name]
			if canon := Aliases[name]; !ok && !strict && canon != "" {
				if ft, ok = fields[canon]; ok {
					renamed := *k
					renamed.Value, name = canon, canon
					k = &renamed
					start(i)
				}
			}
			switch {
			case !ok && strict:
				errs.Errorf(k, path, "unknown key %q%s (allowed: %s)", k.Value, didYouMean(k.Value, order), allowed(order))
				continue
			case !ok:
				errs.Warnf(k, path, "unknown key %q, ignored%s", k.Value, didYouMean(k.Value, order))
				start(i)
				continue
			}
			if prev := seen[name]; prev != nil {
				errs.Errorf(n.Content[i], path, "%q and %q are the same setting: give one of them", prev.Value, n.Content[i].Value)
				continue
			}
			seen[name] = n.Content[i]
			c := child(v, ft, Join(path, name))
			if c != v {
				start(i)
			}
			keep(k, c)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return n
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			c := child(v, t.Elem(), Join(path, k.Value))
			if c != v {
				start(i)
			}
			keep(k, c)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return n
		}
		for i, item := range n.Content {
			c := child(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")
			if c != item {
				start(i)
			}
			keep(c)
		}
	}
	if !changed {
		return n
	}
	cp := *n
	cp.Content = out
	return &cp
}

// didYouMean is the suggestion part of an unknown-key message.
func didYouMean(key string, known []string) string {
	if s := Suggest(key, known); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// Deref follows YAML aliases (*anchor) to the node they point at.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return Deref(n.Content[0])
	}
	return n
}

var nodeType = reflect.TypeOf(yaml.Node{})

// fieldNames maps the yaml keys of a struct type to the field types, and
// lists the keys in field order.
func fieldNames(t reflect.Type) (map[string]reflect.Type, []string) {
	out := map[string]reflect.Type{}
	var order []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			inner, innerOrder := fieldNames(indirect(f.Type))
			for k, v := range inner {
				out[k] = v
			}
			order = append(order, innerOrder...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
		order = append(order, name)
	}
	return out, order
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// unmarshaler types decode themselves; their keys are their own business.
var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// decodesItself reports the types whose keys are not checked: those that
// unmarshal themselves, and raw nodes.
func decodesItself(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(indirect(t)).Implements(unmarshalerType) || indirect(t) == nodeType
}

// allowed names the allowed keys so that a typo is fixed in one look.
func allowed(keys []string) string {
	names := append([]string(nil), keys...)
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var (
	lineRE   = regexp.MustCompile(`^line (\d+): (.*)$`)
	quotedRE = regexp.MustCompile("`([^`]*)`")
)

// typeErrors turns yaml.v3's "line N: cannot unmarshal ..." strings into
// positioned errors, finding the column from the node at that line.
func typeErrors(n *yaml.Node, path string, err error) List {
	var out List
	msgs := []string{err.Error()}
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	}
	for _, msg := range msgs {
		m := lineRE.FindStringSubmatch(msg)
		if m == nil {
			out.Errorf(n, path, "%s", msg)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		hint := ""
		if q := quotedRE.FindStringSubmatch(m[2]); q != nil {
			hint = strings.TrimSuffix(q[1], "...")
		}
		at, atPath := findLine(n, line, hint, path)
		if at == nil {
			at, atPath = n, path
		}
		value := ""
		if at.Kind == yaml.ScalarNode {
			value = at.Value // yaml.v3 truncates the value in its message
		}
		out.Errorf(at, atPath, "%s", friendlyType(strings.TrimPrefix(m[2], "yaml: "), value))
	}
	return out
}

var unmarshalRE = regexp.MustCompile("^cannot unmarshal !!(\\w+) `([^`]*)` into (.+)$")

// friendlyType rewrites yaml.v3's "cannot unmarshal !!str `abc` into int"
// in the words of a spec author: "must be an integer, got a string (abc)".
func friendlyType(msg, value string) string {
	m := unmarshalRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	got := map[string]string{"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
		"map": "a mapping", "seq": "a list", "null": "null", "timestamp": "a timestamp"}[m[1]]
	if got == "" {
		got = m[1]
	}
	want := m[3]
	switch {
	case strings.HasPrefix(want, "int") || strings.HasPrefix(want, "uint"):
		want = "an integer"
	case strings.HasPrefix(want, "float"):
		want = "a number"
	case want == "bool":
		want = "true or false"
	case want == "string":
		want = "a string"
	case strings.HasPrefix(want, "map[") || strings.HasPrefix(want, "struct") || strings.Contains(want, "."):
		want = "a mapping"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	}
	if m[1] == "map" || m[1] == "seq" {
		return fmt.Sprintf("must be %s, got %s", want, got)
	}
	if value == "" {
		value = m[2]
	}
	return fmt.Sprintf("must be %s, got %s (%q)", want, got, value)
}

// findLine returns the first scalar value node on the given line whose text
// starts with hint, and its path.
func findLine(n *yaml.Node, line int, hint, path string) (*yaml.Node, string) {
	n = Deref(n)
	if n == nil {
		return nil, ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Line == line && v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, hint) {
				return v, Join(path, k.Value)
			}
			if r, p := findLine(v, line, hint, Join(path, k.Value)); r != nil {
				return r, p
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if v.Line == line && v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, hint) {
				return v, p
			}
			if r, rp := findLine(v, line, hint, p); r != nil {
				return r, rp
			}
		}
	case yaml.ScalarNode:
		if n.Line == line && strings.HasPrefix(n.Value, hint) {
			return n, path
		}
	}
	return nil, ""
}

// Join appends a key to a dotted spec path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Get returns the value node of key in mapping n, or nil.
func Get(n *yaml.Node, key string) *yaml.Node {
	n = Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return Deref(n.Content[i+1])
		}
	}
	return nil
}

// KeyNode returns the key node of key in mapping n (for positions), or nil.
func KeyNode(n *yaml.Node, key string) *yaml.Node {
	n = Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// KindName names a node kind the way a user reads it in an error.
func KindName(n *yaml.Node) string {
	n = Deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unexpected node"
}
