package spec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// maxRefDepth bounds $ref chains; a longer chain is almost surely a cycle.
const maxRefDepth = 32

// resolver follows local $ref pointers ("#/components/...") inside one document.
type resolver struct {
	root *yaml.Node
}

// refOf returns the $ref value node of a mapping that is a reference, or nil.
func refOf(n *yaml.Node) *yaml.Node {
	n = yamlx.Deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	r := yamlx.Get(n, "$ref")
	if r == nil || r.Kind != yaml.ScalarNode {
		return nil
	}
	return r
}

// resolve returns n itself, or what its $ref (chain) points to.
func (r *resolver) resolve(n *yaml.Node) (*yaml.Node, error) {
	n = yamlx.Deref(n)
	seen := map[string]bool{}
	for depth := 0; ; depth++ {
		ref := refOf(n)
		if ref == nil {
			return n, nil
		}
		if seen[ref.Value] || depth > maxRefDepth {
			return nil, fmt.Errorf("$ref %q is circular", ref.Value)
		}
		seen[ref.Value] = true
		target, err := r.pointer(ref.Value)
		if err != nil {
			return nil, err
		}
		n = target
	}
}

// pointer resolves a JSON pointer such as "#/components/schemas/User".
func (r *resolver) pointer(ref string) (*yaml.Node, error) {
	if !strings.HasPrefix(ref, "#/") && ref != "#" {
		return nil, fmt.Errorf("$ref %q: only local references (#/...) are supported", ref)
	}
	n := yamlx.Deref(r.root)
	if ref == "#" {
		return n, nil
	}
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.Kind {
		case yaml.MappingNode:
			next := yamlx.Get(n, tok)
			if next == nil {
				return nil, fmt.Errorf("$ref %q: %q not found", ref, tok)
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil, fmt.Errorf("$ref %q: no item %q", ref, tok)
			}
			n = yamlx.Deref(n.Content[i])
		default:
			return nil, fmt.Errorf("$ref %q: %q not found", ref, tok)
		}
	}
	return n, nil
}

// checkRefs reports every $ref in the document that does not resolve, so that
// `apigw validate` finds a broken reference even where apigw does not yet
// interpret the referencing object (schemas, validators, ...).
func (r *resolver) checkRefs(n *yaml.Node, path string, errs *yamlx.List) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = path + "[" + strconv.Itoa(i) + "]"
			}
			r.checkRefs(c, p, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "$ref" {
				if v.Kind != yaml.ScalarNode {
					errs.Errorf(v, path, "$ref must be a string")
					continue
				}
				if _, err := r.resolve(n); err != nil {
					errs.Errorf(v, path, "%v", err)
				}
				continue
			}
			r.checkRefs(v, yamlx.Join(path, k.Value), errs)
		}
	}
}
