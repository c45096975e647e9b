package spec

import (
	"regexp"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// varRE matches ${var.name}; ${apigw.name} is a legacy alias seen in a
// Terraform example. Names may contain dots (${var.function.tag}).
var varRE = regexp.MustCompile(`\$\{(?:var|apigw)\.([^}]+)\}`)

// readVariables parses x-yc-apigateway.variables and computes effective values
// from the defaults and the supplied overrides.
func readVariables(gw *yaml.Node, supplied map[string]string, errs *yamlx.List) (map[string]Variable, map[string]string) {
	decl := map[string]Variable{}
	vars := yamlx.Get(gw, "variables")
	const base = "x-yc-apigateway.variables"
	if vars != nil && vars.Kind != yaml.MappingNode {
		errs.Errorf(vars, base, "must be a mapping of variable name to {default, enum, description}, got %s", yamlx.KindName(vars))
		vars = nil
	}
	if vars != nil {
		for i := 0; i+1 < len(vars.Content); i += 2 {
			k, v := vars.Content[i], yamlx.Deref(vars.Content[i+1])
			path := yamlx.Join(base, k.Value)
			var raw struct {
				Default     yaml.Node `yaml:"default"`
				Enum        []yaml.Node
				Description string
			}
			e := yamlx.DecodeExtension(v, &raw, path)
			errs.Add(e...)
			if e.Err() != nil {
				continue
			}
			if raw.Default.Kind != yaml.ScalarNode || raw.Default.ShortTag() == "!!null" {
				errs.Errorf(v, path, "variable needs a scalar default (string, number or boolean)")
				continue
			}
			vr := Variable{Name: k.Value, Default: raw.Default.Value, Node: k}
			for j := range raw.Enum {
				en := &raw.Enum[j]
				if en.Kind != yaml.ScalarNode {
					errs.Errorf(en, yamlx.Join(path, "enum"), "enum values must be scalars")
					continue
				}
				vr.Enum = append(vr.Enum, en.Value)
			}
			if len(vr.Enum) > 0 && !contains(vr.Enum, vr.Default) {
				errs.Errorf(&raw.Default, yamlx.Join(path, "default"), "default %q is not one of the enum values [%s]", vr.Default, strings.Join(vr.Enum, ", "))
			}
			decl[k.Value] = vr
		}
	}
	values := make(map[string]string, len(decl))
	for name, v := range decl {
		values[name] = v.Default
	}
	names := make([]string, 0, len(supplied))
	for name := range supplied {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		val := supplied[name]
		v, ok := decl[name]
		if !ok {
			errs.Errorf(nil, "variables."+name, "variable %q is given a value but is not declared in x-yc-apigateway.variables", name)
			continue
		}
		if len(v.Enum) > 0 && !contains(v.Enum, val) {
			errs.Errorf(nil, "variables."+name, "value %q is not one of the allowed values [%s] of variable %q", val, strings.Join(v.Enum, ", "), name)
			continue
		}
		values[name] = val
	}
	return decl, values
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// substitute replaces ${var.name} in every scalar (keys included) below n,
// skipping the variables declaration itself. A plain scalar whose text changed
// loses its resolved tag so that "http_code: ${var.code}" decodes as a number,
// exactly as the cloud's textual pre-pass would.
func substitute(n *yaml.Node, skip *yaml.Node, values map[string]string, path string, errs *yamlx.List) {
	if n == nil || n == skip {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			substitute(c, skip, values, path, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			substitute(k, skip, values, path, errs)
			substitute(n.Content[i+1], skip, values, yamlx.Join(path, k.Value), errs)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		out := varRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := varRE.FindStringSubmatch(m)[1]
			v, ok := values[name]
			if !ok {
				errs.Errorf(n, path, "unknown variable %q (declare it under x-yc-apigateway.variables)", name)
				return m
			}
			return v
		})
		if out != n.Value {
			n.Value = out
			if n.Style == 0 {
				n.Tag = ""
			}
		}
	}
}
