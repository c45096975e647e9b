package yamlx

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Normalize returns n in the shape of type t, for documents written from
// another tool's view of the same schema (Terraform's blocks of a proto
// message): a key t does not know but renames maps to one it does is
// renamed; a one-element list where t has a single struct is that
// element; a mapping where t has a list is a one-element list. Nodes that
// need no change are shared, so errors keep the document's positions;
// anything else is left for Decode to judge.
func Normalize(n *yaml.Node, t reflect.Type, renames map[string]string) *yaml.Node {
	return normalize(n, t, renames, 0)
}

func normalize(n *yaml.Node, t reflect.Type, renames map[string]string, depth int) *yaml.Node {
	d := Deref(n)
	if d == nil || t == nil || depth > 64 || decodesItself(t) {
		return n
	}
	t = indirect(t)
	switch t.Kind() {
	case reflect.Struct:
		if d.Kind == yaml.SequenceNode && len(d.Content) == 1 && Deref(d.Content[0]).Kind == yaml.MappingNode {
			d = Deref(d.Content[0]) // Terraform: a nested block is a list of one
		}
		if d.Kind != yaml.MappingNode {
			return d
		}
		fields, _ := fieldNames(t)
		out := *d
		out.Content = make([]*yaml.Node, len(d.Content))
		changed := d != Deref(n)
		for i := 0; i+1 < len(d.Content); i += 2 {
			k, v := d.Content[i], d.Content[i+1]
			ft, ok := fields[k.Value]
			if canon, renamed := renames[k.Value]; !ok && renamed {
				if ft, ok = fields[canon]; ok {
					rk := *k
					rk.Value = canon
					k, changed = &rk, true
				}
			}
			if ok {
				if c := normalize(v, ft, renames, depth+1); c != v {
					v, changed = c, true
				}
			}
			out.Content[i], out.Content[i+1] = k, v
		}
		if !changed {
			return n
		}
		return &out
	case reflect.Map:
		if d.Kind != yaml.MappingNode {
			return n
		}
		out := *d
		out.Content = append([]*yaml.Node(nil), d.Content...)
		changed := false
		for i := 1; i < len(d.Content); i += 2 {
			if c := normalize(d.Content[i], t.Elem(), renames, depth+1); c != d.Content[i] {
				out.Content[i], changed = c, true
			}
		}
		if !changed {
			return n
		}
		return &out
	case reflect.Slice:
		if d.Kind == yaml.MappingNode && indirect(t.Elem()).Kind() == reflect.Struct {
			// One block where the proto repeats: a list of one.
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: d.Line, Column: d.Column, Content: []*yaml.Node{d}}
			return normalize(seq, t, renames, depth)
		}
		if d.Kind != yaml.SequenceNode {
			return n
		}
		out := *d
		out.Content = append([]*yaml.Node(nil), d.Content...)
		changed := false
		for i, c := range d.Content {
			if nc := normalize(c, t.Elem(), renames, depth+1); nc != c {
				out.Content[i], changed = nc, true
			}
		}
		if !changed {
			return n
		}
		return &out
	}
	return n
}
