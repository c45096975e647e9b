package integration

import (
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// MapEntry is one entry of a header or query map: a name and its values
// (a YAML string, a list of strings, or null).
type MapEntry struct {
	Name   string
	Values []string
	Null   bool // written as null (or ~)
	Node   *yaml.Node
}

// DecodeHeaderMap reads a map of name → string | [string] | null in document
// order, as `http_headers`, `headers` and `query` are written.
func DecodeHeaderMap(n *yaml.Node, path string) ([]MapEntry, yamlx.List) {
	var errs yamlx.List
	n = yamlx.Deref(n)
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		errs.Errorf(n, path, "must be a map of name to value (a string or a list of strings), got %s", yamlx.KindName(n))
		return nil, errs
	}
	var out []MapEntry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], yamlx.Deref(n.Content[i+1])
		e := MapEntry{Name: k.Value, Node: k}
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
			e.Null = true
		case v.Kind == yaml.ScalarNode:
			e.Values = []string{v.Value}
		case v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				item = yamlx.Deref(item)
				if item.Kind != yaml.ScalarNode {
					errs.Errorf(item, yamlx.Join(path, k.Value), "list items must be strings, got %s", yamlx.KindName(item))
					continue
				}
				e.Values = append(e.Values, item.Value)
			}
		default:
			errs.Errorf(v, yamlx.Join(path, k.Value), "value must be a string or a list of strings, got %s", yamlx.KindName(v))
			continue
		}
		out = append(out, e)
	}
	return out, errs
}
