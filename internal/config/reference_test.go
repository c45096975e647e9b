package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestReferenceIsComplete holds docs/configuration.md to the Bindings type:
// every key the loader accepts appears in the reference's YAML, at its
// place, and the reference shows no key the loader would refuse. A new
// bindings key without its line in the reference fails here.
func TestReferenceIsComplete(t *testing.T) {
	src, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(src, -1)
	if len(blocks) == 0 {
		t.Fatal("docs/configuration.md has no yaml block")
	}
	documented := map[string]bool{}
	for _, b := range blocks {
		var doc yaml.Node
		if err := yaml.Unmarshal(b[1], &doc); err != nil {
			t.Fatalf("a yaml block of docs/configuration.md does not parse: %v", err)
		}
		// The reference must load, too: it is a valid bindings file.
		if _, errs := Parse(b[1]); errs.Err() != nil {
			t.Errorf("the reference's yaml is not a valid bindings file: %v", errs.Err())
		}
		docKeys(doc.Content[0], "", documented)
	}
	accepted := map[string]bool{}
	typeKeys(reflect.TypeFor[Bindings](), "", accepted)

	var missing, unknown []string
	for k := range accepted {
		if !documented[k] && !DocumentedInSWS(k) {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !accepted[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	if len(missing) > 0 {
		t.Errorf("docs/configuration.md does not show these keys:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(unknown) > 0 {
		t.Errorf("docs/configuration.md shows keys the loader does not accept:\n  %s", strings.Join(unknown, "\n  "))
	}
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// typeKeys lists the key paths a type accepts; a map's keys are "*".
func typeKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) || t == reflect.TypeFor[yaml.Node]() {
		return
	}
	switch t.Kind() {
	case reflect.Map:
		if e := t.Elem(); e.Kind() == reflect.Struct || e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct {
			typeKeys(e, prefix+"*.", out)
		}
	case reflect.Slice:
		typeKeys(t.Elem(), prefix, out)
	case reflect.Struct:
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case name == "-" || !f.IsExported():
			case opts == "inline":
				typeKeys(f.Type, prefix, out)
			default:
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				out[prefix+name] = true
				typeKeys(f.Type, prefix+name+".", out)
			}
		}
	}
}

// mapsOfIDs are the sections whose keys are the user's IDs, not settings.
var mapsOfIDs = map[string]bool{
	"variables": true, "functions": true, "containers": true, "datasphere": true, "queues": true,
	"streams": true, "ydb": true, "object_storage.buckets": true, "security_profiles": true,
	"canary.variables": true, "functions.*.env": true, "service_accounts": true, "certificates": true,
	"match_lists": true, "custom_pages": true, "waf_profiles": true, "advanced_rate_limiter_profiles": true, "custom_pages.*.headers": true,
}

// docKeys lists the key paths of a YAML document the way typeKeys does.
func docKeys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			docKeys(c, prefix, out)
		}
	case yaml.MappingNode:
		section := strings.TrimSuffix(prefix, ".")
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if mapsOfIDs[section] {
				if strings.HasSuffix(section, "variables") || strings.HasSuffix(section, ".env") || strings.HasSuffix(section, ".headers") {
					continue // values, not settings
				}
				key = "*"
			} else {
				out[prefix+key] = true
			}
			docKeys(n.Content[i+1], prefix+key+".", out)
		}
	}
}
