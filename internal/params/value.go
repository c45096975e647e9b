package params

import (
	"strconv"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Value is a YAML value (a mapping, a list or a scalar) whose strings may
// hold {param} placeholders, such as an integration's `context`. It is
// compiled once and expanded into plain Go values (for JSON) per request;
// numbers, booleans and null keep their types.
type Value struct {
	kind  yaml.Kind
	keys  []string
	items []*Value
	str   Template
	typed any // a non-string scalar
}

// CompileValue compiles n.
func CompileValue(n *yaml.Node, path string, d *Declared) (*Value, yamlx.List) {
	var errs yamlx.List
	n = yamlx.Deref(n)
	v := &Value{kind: n.Kind}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			item, e := CompileValue(n.Content[i+1], yamlx.Join(path, k.Value), d)
			errs.Add(e...)
			v.keys = append(v.keys, k.Value)
			v.items = append(v.items, item)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			item, e := CompileValue(c, path+"["+strconv.Itoa(i)+"]", d)
			errs.Add(e...)
			v.items = append(v.items, item)
		}
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			v.str = Compile(n.Value, d)
			break
		}
		var x any
		if err := n.Decode(&x); err != nil {
			errs.Errorf(n, path, "%v", err)
		}
		v.typed = x
	default:
		errs.Errorf(n, path, "unsupported YAML node")
	}
	return v, errs
}

// Expand fills the placeholders with the request's values.
func (v *Value) Expand(r *Request) any {
	switch v.kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			m[k] = v.items[i].Expand(r)
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, len(v.items))
		for i, it := range v.items {
			out[i] = it.Expand(r)
		}
		return out
	}
	if v.typed != nil {
		return v.typed
	}
	if v.kind == yaml.ScalarNode && v.str.parts == nil {
		return ""
	}
	return v.str.Expand(r, nil)
}
