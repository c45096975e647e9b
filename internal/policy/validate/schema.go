package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigw/apigw/internal/jsontree"
)

// schema is an OpenAPI 3.0 schema compiled for validation: its keywords
// turned into fields, its regular expressions and formats looked up once,
// its $refs followed (cycles included). Checking a value then walks it
// without allocating, except for the problems it finds. kin-openapi's own
// walk re-derives much of this on every value (8x slower on a 1 KB body);
// schemas that use what this does not model (OpenAPI 3.1 keywords,
// discriminators) keep kin-openapi's.
type schema struct {
	types    uint8 // typeX bits; 0: any type
	nullable bool
	enum     []any

	props     map[string]*schema
	propList  []prop   // the same, for a linear search when there are few
	propNames []string // sorted, for stable problems
	required  []string
	addl      *schema // additionalProperties as a schema
	noAddl    bool    // additionalProperties: false
	minProps  int
	maxProps  int // -1: none
	readOnly  bool
	writeOnly bool

	items    *schema
	minItems int
	maxItems int // -1: none
	unique   bool

	minLen, maxLen int // maxLen -1: none
	pattern        *regexp.Regexp
	patternText    string
	strFormat      openapi3.StringFormatValidator
	intFormat      openapi3.IntegerFormatValidator
	numFormat      openapi3.NumberFormatValidator
	format         string

	min, max         *float64
	exclMin, exclMax bool
	multipleOf       float64

	allOf, anyOf, oneOf []*schema
	not                 *schema
}

const (
	typeObject uint8 = 1 << iota
	typeArray
	typeString
	typeNumber
	typeInteger
	typeBoolean
)

var typeBits = map[string]uint8{"object": typeObject, "array": typeArray, "string": typeString, "number": typeNumber, "integer": typeInteger, "boolean": typeBoolean}

// errUnsupported: the schema needs kin-openapi's walk.
var errUnsupported = errors.New("schema uses keywords the compiled validator does not model")

// compileSchema compiles s; memo holds the schemas compiled so far (a
// $ref cycle meets its own, half-built, entry).
func compileSchema(s *openapi3.Schema, memo map[*openapi3.Schema]*schema) (*schema, error) {
	if c, ok := memo[s]; ok {
		return c, nil
	}
	if s.Discriminator != nil || s.Const != nil || len(s.PrefixItems) > 0 || s.Contains != nil || len(s.PatternProperties) > 0 ||
		len(s.DependentSchemas) > 0 || s.PropertyNames != nil || s.UnevaluatedItems.Has != nil || s.UnevaluatedItems.Schema != nil ||
		s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil || s.If != nil || len(s.DependentRequired) > 0 ||
		s.Always != nil || s.ExclusiveMin.Value != nil || s.ExclusiveMax.Value != nil || (s.Type != nil && s.Type.Includes("null")) {
		return nil, errUnsupported
	}
	c := &schema{nullable: s.Nullable, maxProps: -1, maxItems: -1, maxLen: -1, readOnly: s.ReadOnly, writeOnly: s.WriteOnly}
	memo[s] = c
	if s.Type != nil {
		for _, t := range *s.Type {
			c.types |= typeBits[t]
		}
	}
	for _, e := range s.Enum {
		c.enum = append(c.enum, normalize(e))
	}
	sub := func(r *openapi3.SchemaRef) (*schema, error) {
		if r == nil || r.Value == nil {
			return nil, nil
		}
		return compileSchema(r.Value, memo)
	}
	var err error
	if len(s.Properties) > 0 {
		c.props = make(map[string]*schema, len(s.Properties))
		for name, r := range s.Properties {
			if c.props[name], err = sub(r); err != nil {
				return nil, err
			}
			c.propNames = append(c.propNames, name)
		}
		slices.Sort(c.propNames)
		for _, name := range c.propNames {
			c.propList = append(c.propList, prop{name, c.props[name]})
		}
	}
	c.required = s.Required
	if ap := s.AdditionalProperties; ap.Has != nil && !*ap.Has {
		c.noAddl = true
	} else if c.addl, err = sub(ap.Schema); err != nil {
		return nil, err
	}
	c.minProps = int(s.MinProps)
	if s.MaxProps != nil {
		c.maxProps = int(*s.MaxProps)
	}
	if c.items, err = sub(s.Items); err != nil {
		return nil, err
	}
	c.minItems, c.unique = int(s.MinItems), s.UniqueItems
	if s.MaxItems != nil {
		c.maxItems = int(*s.MaxItems)
	}
	c.minLen = int(s.MinLength)
	if s.MaxLength != nil {
		c.maxLen = int(*s.MaxLength)
	}
	if s.Pattern != "" {
		if c.pattern, err = regexp.Compile(s.Pattern); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", s.Pattern, err)
		}
		c.patternText = s.Pattern
	}
	if f := s.Format; f != "" {
		c.format = f
		c.strFormat = openapi3.SchemaStringFormats[f]
		c.intFormat = openapi3.SchemaIntegerFormats[f]
		c.numFormat = openapi3.SchemaNumberFormats[f]
	}
	c.min, c.max = s.Min, s.Max
	c.exclMin, c.exclMax = s.ExclusiveMin.IsTrue(), s.ExclusiveMax.IsTrue()
	if s.MultipleOf != nil {
		c.multipleOf = *s.MultipleOf
	}
	for _, l := range []struct {
		src SchemaRefs
		dst *[]*schema
	}{{SchemaRefs(s.AllOf), &c.allOf}, {SchemaRefs(s.AnyOf), &c.anyOf}, {SchemaRefs(s.OneOf), &c.oneOf}} {
		for _, r := range l.src {
			x, err := sub(r)
			if err != nil {
				return nil, err
			}
			if x != nil {
				*l.dst = append(*l.dst, x)
			}
		}
	}
	if c.not, err = sub(s.Not); err != nil {
		return nil, err
	}
	return c, nil
}

// prop is a declared property.
type prop struct {
	name string
	s    *schema
}

// property finds a declared property: a linear search among a few names
// is faster than hashing the name.
func (c *schema) property(name string) (*schema, bool) {
	if len(c.propList) <= 8 {
		for i := range c.propList {
			if c.propList[i].name == name {
				return c.propList[i].s, true
			}
		}
		return nil, false
	}
	p, ok := c.props[name]
	return p, ok
}

// SchemaRefs is kin-openapi's list type, named here for the loop above.
type SchemaRefs = openapi3.SchemaRefs

// normalize makes numbers float64, as encoding/json decodes them.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// direction says which side a value travels: readOnly properties may not
// come in a request, writeOnly ones not in a response.
type direction uint8

const (
	inRequest direction = iota
	inResponse
)

// walk is one validation: the tree, the direction, the problems found,
// and the path from the root to the value being checked, which is pushed
// and popped as the walk descends (no allocation per value).
type walk struct {
	t    *tree
	dir  direction
	out  []Problem
	path []step
	// quiet walks (inside anyOf, oneOf, not) only count failures.
	quiet    bool
	failures int
	// more counts the problems past MaxProblems, which are not listed.
	more int
}

type step struct {
	key   string
	idx   int
	isIdx bool
}

func (w *walk) problem(child, msg string) {
	w.failures++
	if w.quiet {
		return
	}
	if len(w.out) >= MaxProblems {
		w.more++
		return
	}
	field := pointer(w.path)
	if child != "" {
		field += "/" + escapePointer(child)
	}
	w.out = append(w.out, Problem{In: "body", Field: field, Message: msg})
}

// check validates node i.
func (c *schema) check(w *walk, i int32) {
	n := &w.t.Nodes[i]
	if n.Kind == jsontree.Null {
		// OpenAPI 3.0: null is a value only where nullable says so,
		// whatever the type (kin-openapi agrees).
		if !c.nullable {
			c.fail(w, "value is not nullable")
		}
		c.combinators(w, i)
		return
	}
	if len(c.enum) > 0 {
		v := w.t.Value(i)
		if !slices.ContainsFunc(c.enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
			c.fail(w, "value is not one of the allowed values "+enumText(c.enum))
		}
	}
	switch n.Kind {
	case jsontree.True, jsontree.False:
		if c.types != 0 && c.types&typeBoolean == 0 {
			c.typeFail(w)
		}
	case jsontree.Number:
		x := n.Num
		switch {
		case c.types == 0, c.types&typeNumber != 0:
		case c.types&typeInteger != 0:
			if x != math.Trunc(x) {
				c.fail(w, "value must be an integer")
				return
			}
		default:
			c.typeFail(w)
			return
		}
		c.number(w, x)
	case jsontree.String:
		if c.types != 0 && c.types&typeString == 0 {
			c.typeFail(w)
			return
		}
		c.str(w, n.Str)
	case jsontree.Array:
		if c.types != 0 && c.types&typeArray == 0 {
			c.typeFail(w)
			return
		}
		c.array(w, n)
	case jsontree.Object:
		if c.types != 0 && c.types&typeObject == 0 {
			c.typeFail(w)
			return
		}
		c.object(w, n)
	}
	c.combinators(w, i)
}

func (c *schema) number(w *walk, x float64) {
	if c.min != nil && (x < *c.min || c.exclMin && x == *c.min) {
		c.fail(w, boundText("at least", "greater than", c.exclMin, *c.min))
	}
	if c.max != nil && (x > *c.max || c.exclMax && x == *c.max) {
		c.fail(w, boundText("at most", "less than", c.exclMax, *c.max))
	}
	if c.multipleOf > 0 {
		if q := x / c.multipleOf; q != math.Trunc(q) {
			c.fail(w, "number must be a multiple of "+strconv.FormatFloat(c.multipleOf, 'g', -1, 64))
		}
	}
	switch {
	case c.intFormat != nil && x == math.Trunc(x):
		if x < math.MinInt64 || x > math.MaxInt64 || c.intFormat.Validate(int64(x)) != nil {
			c.fail(w, "number does not fit the format "+c.format)
		}
	case c.numFormat != nil:
		if err := c.numFormat.Validate(x); err != nil {
			c.fail(w, "number does not match the format "+c.format)
		}
	}
}

func (c *schema) str(w *walk, x string) {
	if c.minLen > 0 || c.maxLen >= 0 {
		n := utf8.RuneCountInString(x)
		if n < c.minLen {
			c.fail(w, fmt.Sprintf("minimum string length is %d", c.minLen))
		}
		if c.maxLen >= 0 && n > c.maxLen {
			c.fail(w, fmt.Sprintf("maximum string length is %d", c.maxLen))
		}
	}
	if c.pattern != nil && !c.pattern.MatchString(x) {
		c.fail(w, fmt.Sprintf("string doesn't match the regular expression %q", c.patternText))
	}
	if c.strFormat != nil {
		if err := c.strFormat.Validate(x); err != nil {
			c.fail(w, fmt.Sprintf("string doesn't match the format %q", c.format))
		}
	}
}

func (c *schema) array(w *walk, n *jsontree.Node) {
	kids := w.t.Children(n)
	if len(kids) < c.minItems {
		c.fail(w, fmt.Sprintf("minimum number of items is %d", c.minItems))
	}
	if c.maxItems >= 0 && len(kids) > c.maxItems {
		c.fail(w, fmt.Sprintf("maximum number of items is %d", c.maxItems))
	}
	if c.unique {
		values := make([]any, len(kids))
		for i, k := range kids {
			values[i] = w.t.Value(k)
		}
	dup:
		for i := range values {
			for j := i + 1; j < len(values); j++ {
				if reflect.DeepEqual(values[i], values[j]) {
					c.fail(w, "duplicate items found")
					break dup
				}
			}
		}
	}
	if c.items != nil {
		for i, k := range kids {
			w.path = append(w.path, step{idx: i, isIdx: true})
			c.items.check(w, k)
			w.path = w.path[:len(w.path)-1]
		}
	}
}

func (c *schema) object(w *walk, n *jsontree.Node) {
	kids := w.t.Children(n)
	if len(kids) < c.minProps {
		c.fail(w, fmt.Sprintf("there must be at least %d properties", c.minProps))
	}
	if c.maxProps >= 0 && len(kids) > c.maxProps {
		c.fail(w, fmt.Sprintf("there must be at most %d properties", c.maxProps))
	}
	for _, name := range c.required {
		found := false
		for _, k := range kids {
			if w.t.Nodes[k].Key == name {
				found = true
				break
			}
		}
		if !found {
			p, _ := c.property(name)
			// A readOnly property is not required of a request, a
			// writeOnly one not of a response.
			if p != nil && (w.dir == inRequest && p.readOnly || w.dir == inResponse && p.writeOnly) {
				continue
			}
			w.problem(name, fmt.Sprintf("property %q is missing", name))
		}
	}
	for _, k := range kids {
		name := w.t.Nodes[k].Key
		p, declared := c.property(name)
		switch {
		case declared && p != nil:
			switch {
			case w.dir == inRequest && p.readOnly:
				w.problem(name, "readOnly property in a request")
			case w.dir == inResponse && p.writeOnly:
				w.problem(name, "writeOnly property in a response")
			}
			w.path = append(w.path, step{key: name})
			p.check(w, k)
			w.path = w.path[:len(w.path)-1]
		case declared:
		case c.noAddl:
			w.problem(name, fmt.Sprintf("property %q is unsupported", name))
		case c.addl != nil:
			w.path = append(w.path, step{key: name})
			c.addl.check(w, k)
			w.path = w.path[:len(w.path)-1]
		}
	}
}

func (c *schema) combinators(w *walk, i int32) {
	for _, s := range c.allOf {
		s.check(w, i)
	}
	if len(c.anyOf) > 0 && !slices.ContainsFunc(c.anyOf, func(s *schema) bool { return s.valid(w, i) }) {
		c.fail(w, "doesn't match any schema from \"anyOf\"")
	}
	if len(c.oneOf) > 0 {
		n := 0
		for _, s := range c.oneOf {
			if s.valid(w, i) {
				n++
			}
		}
		if n != 1 {
			c.fail(w, fmt.Sprintf("value matches %d schemas from \"oneOf\", want exactly 1", n))
		}
	}
	if c.not != nil && c.not.valid(w, i) {
		c.fail(w, "doesn't match schema due to \"not\"")
	}
}

// valid reports whether node i passes, quietly.
func (c *schema) valid(w *walk, i int32) bool {
	quiet, failures := w.quiet, w.failures
	w.quiet = true
	c.check(w, i)
	ok := w.failures == failures
	w.quiet, w.failures = quiet, failures
	return ok
}

func (c *schema) typeFail(w *walk) {
	names := make([]string, 0, 2)
	for _, t := range []string{"object", "array", "string", "number", "integer", "boolean"} {
		if c.types&typeBits[t] != 0 {
			names = append(names, t)
		}
	}
	c.fail(w, "value must be "+article(strings.Join(names, " or ")))
}

func (c *schema) fail(w *walk, msg string) { w.problem("", msg) }

// validate parses body and checks it: the problems, or a parse error.
func (c *schema) validate(body []byte, dir direction) ([]Problem, error) {
	t := trees.Get().(*tree)
	defer trees.Put(t)
	if err := jsontree.Parse(body, &t.Tree); err != nil {
		return nil, err
	}
	w := walk{t: t, dir: dir, path: t.path[:0]}
	c.check(&w, 0)
	t.path = w.path[:0]
	if w.more > 0 {
		w.out = append(w.out, moreProblems("body", w.more))
	}
	return w.out, nil
}

// pointer is the JSON pointer of a path.
func pointer(path []step) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		if s.isIdx {
			b.WriteString(strconv.Itoa(s.idx))
		} else {
			b.WriteString(escapePointer(s.key))
		}
	}
	return b.String()
}

func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// trees are reused arenas: a request parses its body into one that the
// previous request grew.
var trees = sync.Pool{New: func() any { return new(tree) }}

// tree is a parsed body with the walk's path stack, both kept for reuse.
type tree struct {
	jsontree.Tree
	path []step
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func boundText(incl, excl string, exclusive bool, bound float64) string {
	word := incl
	if exclusive {
		word = excl
	}
	return "number must be " + word + " " + strconv.FormatFloat(bound, 'g', -1, 64)
}

func enumText(enum []any) string {
	b, _ := json.Marshal(enum)
	return string(b)
}
