package contract

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// IsXMLMedia reports whether a declared media type is XML: application/xml,
// text/xml, or a +xml type.
func IsXMLMedia(mediaType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(mediaType), ";")
	mt = strings.TrimSpace(mt)
	return mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
}

// EncodeXML writes a value as an XML document the way OpenAPI describes
// it: the root element is named by the schema's xml.name, else its
// component's name, else "root"; properties are child elements (or
// attributes, with xml.attribute) named by their xml.name or their key;
// array items repeat the element of their property, wrapped in one more
// when xml.wrapped says so. A string is sent as it is, the way a spec
// writes an XML example as text.
func EncodeXML(v any, s *openapi3.SchemaRef) []byte {
	if text, ok := v.(string); ok {
		return []byte(text)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	name := "root"
	if s != nil {
		if i := strings.LastIndexByte(s.Ref, '/'); i >= 0 && s.Ref[i+1:] != "" {
			name = s.Ref[i+1:]
		}
		if s.Value != nil && s.Value.XML != nil && s.Value.XML.Name != "" {
			name = s.Value.XML.Name
		}
	}
	writeXML(&b, xmlName(name), v, schemaOf(s), 0)
	return b.Bytes()
}

// writeXML writes v as the element name (its items as repeated elements
// for an array).
func writeXML(b *bytes.Buffer, name string, v any, s *openapi3.Schema, depth int) {
	if depth > hardDepth {
		return
	}
	switch x := v.(type) {
	case []any:
		var items *openapi3.Schema
		wrapped := false
		if s != nil {
			items = schemaOf(s.Items)
			wrapped = s.XML != nil && s.XML.Wrapped
		}
		item := name
		if items != nil && items.XML != nil && items.XML.Name != "" {
			item = xmlName(items.XML.Name)
		}
		if wrapped {
			b.WriteString("<" + name + ">")
		}
		for _, e := range x {
			writeXML(b, item, e, items, depth+1)
		}
		if wrapped {
			b.WriteString("</" + name + ">")
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("<" + name)
		var children []string
		for _, k := range keys {
			p := property(s, k)
			if p != nil && p.XML != nil && p.XML.Attribute {
				b.WriteString(" " + elementName(k, p) + `="`)
				xml.EscapeText(b, []byte(Text(x[k])))
				b.WriteString(`"`)
				continue
			}
			children = append(children, k)
		}
		b.WriteString(">")
		for _, k := range children {
			p := property(s, k)
			writeXML(b, elementName(k, p), x[k], p, depth+1)
		}
		b.WriteString("</" + name + ">")
	case nil:
		b.WriteString("<" + name + "/>")
	default:
		b.WriteString("<" + name + ">")
		xml.EscapeText(b, []byte(Text(x)))
		b.WriteString("</" + name + ">")
	}
}

// property is the schema of s's property name, its own or an allOf
// part's (at most hardDepth parts deep: allOf may refer to itself).
func property(s *openapi3.Schema, name string) *openapi3.Schema {
	return propertyWithin(s, name, 0)
}

func propertyWithin(s *openapi3.Schema, name string, depth int) *openapi3.Schema {
	if s == nil || depth > hardDepth {
		return nil
	}
	if p := schemaOf(s.Properties[name]); p != nil {
		return p
	}
	for _, part := range s.AllOf {
		if p := propertyWithin(schemaOf(part), name, depth+1); p != nil {
			return p
		}
	}
	return nil
}

func elementName(key string, p *openapi3.Schema) string {
	if p != nil && p.XML != nil && p.XML.Name != "" {
		key = p.XML.Name
	}
	return xmlName(key)
}

// xmlName makes a key a valid XML name: what a name cannot hold becomes
// "_", and one that cannot start a name gets "_" in front.
func xmlName(s string) string {
	out := []rune(s)
	for i, r := range out {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.' || r == ':') {
			out[i] = '_'
		}
	}
	if len(out) == 0 || !(unicode.IsLetter(out[0]) || out[0] == '_') {
		out = append([]rune{'_'}, out...)
	}
	return string(out)
}
