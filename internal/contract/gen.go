// Package contract generates data and requests from an OpenAPI spec,
// checks answers against it and reports the result: the engine of
// `apigw test` (contract tests), and of the mock responses of
// `apigw serve --mock`, which take their bodies from Generator.
package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Mode is which values a Generator picks within what a schema allows.
type Mode uint8

const (
	// Typical takes the schema's example, default or first enum value,
	// else a plausible value of its type and format; only required
	// properties and one array item.
	Typical Mode = iota
	// Minimal takes the lower bounds: minimum, minLength, minItems, and
	// only the required properties.
	Minimal
	// Maximal takes the upper bounds (lengths capped) and every property.
	Maximal
	// Random takes random values within the bounds, and each optional
	// property with even odds.
	Random
)

func (m Mode) String() string {
	return [...]string{"typical", "minimal", "maximal", "random"}[m]
}

// Direction says which side of an exchange a value is for: a request
// leaves out readOnly properties, a response writeOnly ones.
type Direction uint8

const (
	Request Direction = iota
	Response
)

// Limits keep generated values small whatever the schema allows.
const (
	maxDepth = 8 // nesting; deeper, only what is required
	// hardDepth stops even what is required: a property that requires
	// itself (through $ref, allOf, oneOf or anyOf) has no finite value.
	hardDepth = 32
	// budget bounds one generated value, whatever its shape: each value
	// costs 16 and a string its length besides (about a quarter of a
	// megabyte of JSON at most). Nested minItems multiply (three nested
	// 4,096s are 68 billion items); the budget stops them.
	budget        = 256 << 10
	maxStringLen  = 64 // a Maximal string without maxLength, or a longer one, is cut here
	maxArrayItems = 3
	// maxLower caps a schema's own lower bounds (minLength, minItems): a
	// spec asking for a billion characters gets a short value, which its
	// check then reports, not a billion bytes.
	maxLower = 4096
)

// Generator makes values that a schema accepts. The same seed, mode and
// schema always give the same value. A Generator is not safe for
// concurrent use; make one per goroutine (they are cheap).
type Generator struct {
	r   *rand.Rand
	dir Direction
	// left is what remains of the budget of the value being made; cut is
	// set when the value was cut short (too deep, or over budget).
	left int
	cut  bool
}

// NewGenerator returns a generator for one side of an exchange.
func NewGenerator(seed uint64, dir Direction) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dir: dir}
}

// Value returns a value for s in mode m (nil for a nil schema). A schema
// too deep or too large to make in full gets a value cut short, which it
// may not accept; Cut then says so.
func (g *Generator) Value(s *openapi3.SchemaRef, m Mode) any {
	g.left = budget
	return g.sub(s, m, 0)
}

// Cut reports whether a value this generator made was cut short: its
// schema nests deeper than hardDepth (a required property that requires
// itself), or the value would be larger than the budget.
func (g *Generator) Cut() bool { return g.cut }

// sub is the value of a schema nested in another (a combinator's part).
func (g *Generator) sub(s *openapi3.SchemaRef, m Mode, depth int) any {
	if s == nil || s.Value == nil {
		return nil
	}
	return g.value(s.Value, m, depth)
}

// spend takes n from the budget and reports whether anything was left.
func (g *Generator) spend(n int) bool {
	if g.left <= 0 {
		g.cut = true
		return false
	}
	g.left -= n
	return true
}

func (g *Generator) value(s *openapi3.Schema, m Mode, depth int) any {
	if depth > hardDepth || !g.spend(16) {
		g.cut = true
		return nil
	}
	if m == Typical || m == Random && g.r.IntN(4) == 0 {
		if s.Example != nil {
			return s.Example
		}
		if s.Default != nil {
			return s.Default
		}
	}
	if len(s.Enum) > 0 {
		switch m {
		case Random:
			return s.Enum[g.r.IntN(len(s.Enum))]
		case Maximal:
			return s.Enum[len(s.Enum)-1]
		}
		return s.Enum[0]
	}
	if len(s.AllOf) > 0 {
		return g.allOf(s, m, depth)
	}
	if alts := s.OneOf; len(alts) > 0 || len(s.AnyOf) > 0 {
		if len(alts) == 0 {
			alts = s.AnyOf
		}
		i := 0
		if m == Random {
			i = g.r.IntN(len(alts))
		}
		v := g.sub(alts[i], m, depth+1)
		if obj, ok := v.(map[string]any); ok && len(s.Properties) > 0 {
			for k, pv := range g.object(s, m, depth) {
				obj[k] = pv
			}
		}
		return v
	}
	if s.Type != nil && len(*s.Type) == 1 && (*s.Type)[0] == "null" {
		return nil
	}
	switch typeOf(s) {
	case "object":
		return g.object(s, m, depth)
	case "array":
		return g.array(s, m, depth)
	case "integer":
		return g.integer(s, m)
	case "number":
		return g.number(s, m)
	case "boolean":
		return m != Minimal && (m != Random || g.r.IntN(2) == 0)
	case "string":
		v := g.str(s, m)
		g.spend(len(v))
		return v
	}
	return "value"
}

// typeOf is the schema's type, or the one its keywords imply.
func typeOf(s *openapi3.Schema) string {
	if s.Type != nil && len(*s.Type) > 0 {
		for _, t := range *s.Type {
			if t != "null" {
				return t
			}
		}
	}
	switch {
	case len(s.Properties) > 0 || s.AdditionalProperties.Schema != nil || len(s.Required) > 0:
		return "object"
	case s.Items != nil:
		return "array"
	case s.Min != nil || s.Max != nil:
		return "number"
	}
	return "string"
}

func (g *Generator) allOf(s *openapi3.Schema, m Mode, depth int) any {
	var merged map[string]any
	var other any
	for _, part := range s.AllOf {
		v := g.sub(part, m, depth+1)
		obj, ok := v.(map[string]any)
		if !ok {
			if other == nil {
				other = v
			}
			continue
		}
		if merged == nil {
			merged = map[string]any{}
		}
		for k, pv := range obj {
			merged[k] = pv
		}
	}
	if merged == nil {
		if other != nil {
			return other
		}
		merged = map[string]any{}
	}
	if len(s.Properties) > 0 {
		for k, pv := range g.object(s, m, depth) {
			merged[k] = pv
		}
	}
	return merged
}

func (g *Generator) skip(p *openapi3.Schema) bool {
	return g.dir == Request && p.ReadOnly || g.dir == Response && p.WriteOnly
}

func (g *Generator) object(s *openapi3.Schema, m Mode, depth int) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	required := map[string]bool{}
	for _, name := range s.Required {
		required[name] = true
	}
	for _, name := range names {
		p := s.Properties[name]
		if p == nil || p.Value == nil {
			continue
		}
		if g.skip(p.Value) {
			// Not sent this way, even when required: a request leaves
			// out readOnly properties, a response writeOnly ones (the
			// validator asks for neither, and refuses both).
			required[name] = false
			continue
		}
		if g.left <= 0 {
			g.cut = true
			break
		}
		want := required[name]
		if !want && depth < maxDepth {
			switch m {
			case Maximal:
				want = true
			case Random:
				want = g.r.IntN(2) == 0
			case Typical:
				want = p.Value.Example != nil
			}
		}
		if want {
			out[name] = g.value(p.Value, m, depth+1)
		}
	}
	// A required name that no property describes still has to be there.
	for _, name := range s.Required {
		if _, ok := out[name]; !ok && required[name] {
			if ap := s.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
				out[name] = g.value(ap.Value, m, depth+1)
			} else {
				out[name] = "value"
			}
		}
	}
	// minProperties: add the optional ones, then made-up names.
	for _, name := range names {
		if len(out) >= int(s.MinProps) {
			break
		}
		if p := s.Properties[name]; p != nil && p.Value != nil && !g.skip(p.Value) {
			if _, ok := out[name]; !ok {
				out[name] = g.value(p.Value, Minimal, depth+1)
			}
		}
	}
	for i := 0; len(out) < int(s.MinProps) && i < 64 && g.left > 0; i++ {
		var v any = "value"
		if ap := s.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
			v = g.value(ap.Value, Minimal, depth+1)
		}
		out[fmt.Sprintf("key%d", i)] = v
	}
	return out
}

func (g *Generator) array(s *openapi3.Schema, m Mode, depth int) []any {
	lo := int(min(s.MinItems, maxLower))
	hi := maxArrayItems
	if s.MaxItems != nil && int(*s.MaxItems) < hi {
		hi = int(*s.MaxItems)
	}
	if hi < lo {
		hi = lo
	}
	n := lo
	switch {
	case depth >= maxDepth:
	case m == Maximal:
		n = hi
	case m == Random:
		n = lo + g.r.IntN(hi-lo+1)
	case m == Typical && n == 0 && hi > 0:
		n = 1
	}
	out := make([]any, 0, n)
	if s.Items == nil || s.Items.Value == nil {
		for i := range n {
			if !g.spend(16) {
				break
			}
			out = append(out, fmt.Sprintf("item%d", i))
		}
		return out
	}
	seen := map[string]bool{}
	for i := 0; len(out) < n && i < n*8; i++ {
		if g.left <= 0 {
			g.cut = true
			break
		}
		im := m
		if i > 0 && m != Random {
			im = Random // later items differ from the first
		}
		v := g.value(s.Items.Value, im, depth+1)
		if s.UniqueItems {
			key := fmt.Sprintf("%#v", v)
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, v)
	}
	return out
}

// bounds returns the inclusive range of a number schema (open ends at ±lim).
func bounds(s *openapi3.Schema, lim float64, step float64) (lo, hi float64) {
	lo, hi = -lim, lim
	if s.Min != nil {
		lo = *s.Min
		if s.ExclusiveMin.IsTrue() {
			lo += step
		}
	}
	if s.Max != nil {
		hi = *s.Max
		if s.ExclusiveMax.IsTrue() {
			hi -= step
		}
	}
	return lo, hi
}

func (g *Generator) integer(s *openapi3.Schema, m Mode) int64 {
	lim := 1e6
	if s.Format == "int32" {
		lim = math.MaxInt32
	}
	lo, hi := bounds(s, lim, 1)
	ilo, ihi := int64(math.Ceil(lo)), int64(math.Floor(hi))
	if ihi < ilo {
		ihi = ilo
	}
	var v int64
	switch m {
	case Minimal:
		v = ilo
		if s.Min == nil {
			v = min(max(0, ilo), ihi)
		}
	case Maximal:
		v = ihi
		if s.Max == nil {
			v = max(min(1000, ihi), ilo)
		}
	case Random:
		a, b := max(ilo, -1000), min(ihi, max(ilo, -1000)+2000)
		if b < a {
			b = a
		}
		v = a + g.r.Int64N(b-a+1)
	default:
		v = min(max(1, ilo), ihi)
	}
	if mo := s.MultipleOf; mo != nil && *mo >= 1 {
		step := int64(*mo)
		if r := v % step; r != 0 {
			v += step - r
			if v > ihi {
				v -= step
			}
		}
	}
	return v
}

func (g *Generator) number(s *openapi3.Schema, m Mode) float64 {
	lo, hi := bounds(s, 1e6, 1e-3)
	if hi < lo {
		hi = lo
	}
	var v float64
	switch m {
	case Minimal:
		v = lo
		if s.Min == nil {
			v = math.Min(math.Max(0, lo), hi)
		}
	case Maximal:
		v = hi
		if s.Max == nil {
			v = math.Max(math.Min(1000, hi), lo)
		}
	case Random:
		a, b := math.Max(lo, -1000), math.Min(hi, math.Max(lo, -1000)+2000)
		v = math.Round((a+g.r.Float64()*(b-a))*100) / 100
		v = math.Min(math.Max(v, lo), hi)
	default:
		v = math.Min(math.Max(1.5, lo), hi)
	}
	if mo := s.MultipleOf; mo != nil && *mo > 0 {
		v = math.Ceil(v / *mo) * *mo
		if v > hi {
			v -= *mo
		}
	}
	return v
}

func (g *Generator) str(s *openapi3.Schema, m Mode) string {
	lo, hi := int(min(s.MinLength, maxLower)), maxStringLen
	if s.MaxLength != nil && int(*s.MaxLength) < hi {
		hi = int(*s.MaxLength)
	}
	if hi < lo {
		hi = lo
	}
	if s.Pattern != "" {
		if v, ok := g.fromPattern(s.Pattern, lo, hi); ok {
			return v
		}
	}
	if v := g.formatted(s.Format, m); v != "" {
		return v
	}
	n := min(max(lo, 7), hi)
	switch m {
	case Minimal:
		n = lo
	case Maximal:
		n = hi
	case Random:
		n = lo + g.r.IntN(hi-lo+1)
	}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		if m == Random {
			b[i] = letters[g.r.IntN(len(letters))]
		} else {
			b[i] = "example"[i%7]
		}
	}
	return string(b)
}

func (g *Generator) formatted(format string, m Mode) string {
	i := 0
	if m == Random {
		i = g.r.IntN(1000)
	}
	switch format {
	case "date":
		return fmt.Sprintf("2024-%02d-%02d", 1+i%12, 1+i%28)
	case "date-time":
		return fmt.Sprintf("2024-%02d-%02dT%02d:%02d:00Z", 1+i%12, 1+i%28, i%24, i%60)
	case "time":
		return fmt.Sprintf("%02d:%02d:00", i%24, i%60)
	case "email":
		return fmt.Sprintf("user%d@example.com", i)
	case "uuid":
		var b [16]byte
		for j := range b {
			b[j] = byte(g.r.IntN(256))
		}
		if m != Random {
			b = [16]byte{0x3f, 0x2c, 0x6a, 0x1e, 0x7b, 0x44, 0x4d, 0x1a, 0x9c, 0x52, 0x0e, 0x8f, 0x61, 0x3d, 0x27, 0x90}
		}
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	case "uri", "url", "uri-reference", "iri":
		return fmt.Sprintf("https://example.com/items/%d", i)
	case "hostname":
		return fmt.Sprintf("host%d.example.com", i)
	case "ipv4":
		return fmt.Sprintf("192.0.2.%d", i%255)
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x", i)
	case "byte":
		return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "example %d", i))
	case "password":
		return "secret"
	}
	return ""
}

var patterns sync.Map // pattern → *regexp.Regexp or nil (does not compile)

// fromPattern makes a string that the ECMA-style pattern p matches, with
// a length in [lo, hi], trying a few times.
func (g *Generator) fromPattern(p string, lo, hi int) (string, bool) {
	v, ok := patterns.Load(p)
	if !ok {
		re, err := regexp.Compile(p)
		if err != nil {
			re = nil
		}
		v, _ = patterns.LoadOrStore(p, re)
	}
	re, _ := v.(*regexp.Regexp)
	if re == nil {
		return "", false
	}
	parsed, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	parsed = parsed.Simplify()
	for range 16 {
		var b strings.Builder
		g.emit(&b, parsed, lo)
		s := b.String()
		if n := len([]rune(s)); n >= lo && n <= hi && re.MatchString(s) {
			return s, true
		}
	}
	return "", false
}

// maxPatternOutput stops a pattern such as (a{1000}){1000} from making
// a megabyte: past it the string is too long anyway and is thrown away.
const maxPatternOutput = 4096

// emit writes a string that re matches.
func (g *Generator) emit(b *strings.Builder, re *syntax.Regexp, want int) {
	if b.Len() > maxPatternOutput {
		return
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) >= 2 {
			// Prefer a printable ASCII range when the class has one.
			pairs := len(re.Rune) / 2
			i := g.r.IntN(pairs)
			for j := range pairs {
				k := (i + j) % pairs
				if re.Rune[2*k] >= 0x20 && re.Rune[2*k] < 0x7f {
					i = k
					break
				}
			}
			lo, hi := re.Rune[2*i], re.Rune[2*i+1]
			if hi > lo+95 {
				hi = lo + 95
			}
			b.WriteRune(lo + rune(g.r.IntN(int(hi-lo)+1)))
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(byte('a' + g.r.IntN(26)))
	case syntax.OpCapture:
		g.emit(b, re.Sub[0], want)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			g.emit(b, sub, want)
		}
	case syntax.OpAlternate:
		g.emit(b, re.Sub[g.r.IntN(len(re.Sub))], want)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := re.Min, re.Max
		switch re.Op {
		case syntax.OpStar:
			lo, hi = 0, -1
		case syntax.OpPlus:
			lo, hi = 1, -1
		case syntax.OpQuest:
			lo, hi = 0, 1
		}
		if hi < 0 {
			hi = lo + 4
		}
		n := lo + g.r.IntN(hi-lo+1)
		if b.Len() < want && n < hi {
			n = hi
		}
		for range n {
			g.emit(b, re.Sub[0], want)
		}
	}
}

// Text writes a value where text is wanted (a parameter, a header): a
// string as it is, a number without exponent, anything else as JSON.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Encode writes a value as a body: JSON for a JSON media type, a string
// as it is otherwise.
func Encode(v any, asJSON bool) []byte {
	if s, ok := v.(string); ok && !asJSON {
		return []byte(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprint(v))
	}
	return b
}
