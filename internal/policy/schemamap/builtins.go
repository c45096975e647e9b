package schemamap

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// A jq program runs under a context that the VM checks between steps, so a
// budget bounds it; but one builtin call is one step, and some of gojq's
// take time that grows faster than their input. The regular expression
// builtins counted each match's offset in characters from the start of
// the string (a 2.4 MB body through gsub(" "; "_") burned a core for
// minutes, past every deadline); indices, index and rindex compare at every
// position; contains nests loops over both arrays. A body chooses those
// inputs, so these builtins are replaced, for every mapping, by ones whose
// work is linear in their input or counted against a limit:
//
//   - match, test, capture, scan, splits, split/2, sub, gsub: offsets
//     counted as the matches advance; at most maxMatches matches per call;
//     sub and gsub join the pieces once instead of growing a string per
//     match.
//   - indices, index, rindex: Knuth-Morris-Pratt over characters or
//     array items.
//   - contains, inside: the comparisons are counted; past maxSteps the
//     call fails.
//
// The replacements are jq definitions put before the mapping's own (which
// may still define its own match), over Go functions named _apigw_*.
// Their results are gojq's (TestBuiltinsMatchGojq compares them).
var prelude = `
def _apigw_re($re): if $re | type == "array" then $re else [$re, null] end;
def match($re; $flags): _apigw_match($re; $flags)[];
def match($re): _apigw_re($re) as [$r, $f] | match($r; $f);
def test($re; $flags): _apigw_test($re; $flags);
def test($re): _apigw_re($re) as [$r, $f] | test($r; $f);
def capture($re; $flags): match($re; $flags) | .captures | _apigw_named;
def capture($re): _apigw_re($re) as [$r, $f] | capture($r; $f);
def scan($re; $flags): match($re; "g" + ($flags // "")) |
  if .captures == [] then .string else [.captures[].string] end;
def scan($re): scan($re; null);
def splits($re; $flags): _apigw_split($re; $flags)[];
def splits($re): splits($re; null);
def split($re; $flags): _apigw_split($re; $flags);
def sub($re; str; $flags): . as $in | _apigw_pieces($re; $flags) as $p |
  if ($p | length) == 1 then $in
  else [range(1; $p | length; 2) as $i | [$p[$i] | str]] as $rs |
    if all($rs[]; length == 1) then
      [range(1; $p | length; 2) as $i | $p[$i - 1], $rs[($i - 1) / 2][0]] + [$p[-1]] | add
    else
      reduce range(1; $p | length; 2) as $i ({r: []};
        reduce $rs[($i - 1) / 2][] as $s (.j = 0; .r[.j] += $p[$i - 1] + $s | .j += 1)) |
      (.r[] + $p[-1]) // $in
    end
  end;
def sub($re; str): sub($re; str; null);
def gsub($re; str; $flags): sub($re; str; ($flags // "") + "g");
def gsub($re; str): sub($re; str; "g");
def indices($x): _apigw_indices($x; 0);
def index($x): _apigw_indices($x; 1);
def rindex($x): _apigw_indices($x; -1);
def contains($x): _apigw_contains($x);
def inside($x): . as $v | $x | _apigw_contains($v);
def _apigw_tonumber0: tonumber;
def tonumber: if type == "string" and length > ` + strconv.Itoa(maxDigits) + ` then _apigw_tonumber else _apigw_tonumber0 end;
`

// Limits of one builtin call.
const (
	maxMatches = maxOutputs // matches of one regular expression call
	maxSteps   = 10_000_000 // comparisons of one contains
	// maxDigits: a string longer than this given to tonumber is read
	// as a float: math/big parses decimal text in quadratic time.
	maxDigits = 1000
)

var (
	preludeDefs []*gojq.FuncDef
	options     []gojq.CompilerOption
)

func init() {
	q, err := gojq.Parse(prelude + ".")
	if err != nil {
		panic("schemamap: the prelude does not parse: " + err.Error())
	}
	preludeDefs = q.FuncDefs
	fn := func(name string, arity int, f func(any, []any) any) {
		options = append(options, gojq.WithFunction(name, arity, arity, f))
	}
	fn("_apigw_match", 2, func(v any, a []any) any { return regexCall(v, a, "match") })
	fn("_apigw_test", 2, func(v any, a []any) any { return regexCall(v, a, "test") })
	fn("_apigw_split", 2, func(v any, a []any) any { return regexCall(v, a, "split") })
	fn("_apigw_pieces", 2, func(v any, a []any) any { return regexCall(v, a, "sub") })
	fn("_apigw_named", 0, func(v any, _ []any) any { return namedCaptures(v) })
	fn("_apigw_indices", 2, func(v any, a []any) any { return indices(v, a[0], a[1]) })
	fn("_apigw_contains", 1, func(v any, a []any) any {
		steps := maxSteps
		ok, err := contains(v, a[0], &steps, true)
		if err != nil {
			return err
		}
		return ok
	})
	fn("_apigw_tonumber", 0, func(v any, _ []any) any { return toNumber(v) })
}

// withPrelude returns q with the prelude's definitions before its own.
func withPrelude(q *gojq.Query) *gojq.Query {
	c := *q
	c.FuncDefs = append(append([]*gojq.FuncDef{}, preludeDefs...), q.FuncDefs...)
	return &c
}

// regexps caches compiled expressions by pattern and flags. A mapping
// may take its pattern from the body, so the cache is bounded: past
// maxRegexps entries, an expression is compiled for its call only.
var regexps = struct {
	sync.Mutex
	m map[[2]string]*matcher
}{m: map[[2]string]*matcher{}}

const maxRegexps = 256

// matcher is a compiled expression with the probe that finds jq's empty
// matches right after a match (which Go's regexp skips): one character
// then the expression, anchored.
type matcher struct {
	re, probe *regexp.Regexp
}

func compileRegexp(pattern, flags string) (*matcher, error) {
	key := [2]string{pattern, flags}
	regexps.Lock()
	m := regexps.m[key]
	regexps.Unlock()
	if m != nil {
		return m, nil
	}
	for _, f := range flags {
		if f != 'g' && f != 'i' && f != 'm' {
			return nil, fmt.Errorf("unsupported regular expression flag: %q", flags)
		}
	}
	src := pattern
	if strings.ContainsRune(flags, 'i') {
		src = "(?i)" + src
	}
	if strings.ContainsRune(flags, 'm') {
		src = "(?s)" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %s", src, err)
	}
	m = &matcher{re: re}
	m.probe, _ = regexp.Compile(`\A(?s:.)(?:` + src + `)`)
	regexps.Lock()
	if len(regexps.m) < maxRegexps {
		regexps.m[key] = m
	}
	regexps.Unlock()
	return m, nil
}

// find returns the matches of m in s (all with global, else the first),
// as Go's FindAllStringSubmatchIndex does, plus the empty matches jq
// reports where one abuts the end of a match.
func (m *matcher) find(s string, global bool) ([][]int, error) {
	n := 1
	if global {
		n = maxMatches + 1
	}
	xs := m.re.FindAllStringSubmatchIndex(s, n)
	if len(xs) > maxMatches {
		return nil, fmt.Errorf("the regular expression matches more than %d times", maxMatches)
	}
	if !global || len(xs) == 0 || m.probe == nil {
		return xs, nil
	}
	out := make([][]int, 0, len(xs))
	for i, x := range xs {
		out = append(out, x)
		if x[0] == x[1] || i+1 < len(xs) && xs[i+1][0] == x[1] {
			continue
		}
		_, w := utf8.DecodeLastRuneInString(s[:x[1]])
		y := m.probe.FindStringSubmatchIndex(s[x[1]-w:])
		if y == nil || y[1] != w {
			continue
		}
		empty := make([]int, len(y))
		empty[0], empty[1] = x[1], x[1]
		for j := 2; j < len(y); j++ {
			empty[j] = -1
			if y[j] >= 0 {
				empty[j] = y[j] + x[1] - w
			}
		}
		out = append(out, empty)
	}
	if len(out) > maxMatches {
		return nil, fmt.Errorf("the regular expression matches more than %d times", maxMatches)
	}
	return out, nil
}

// runeCounter turns byte offsets into character offsets, counting only
// the bytes between one offset and the next: offsets that only grow cost
// the length of the string in all, not each.
type runeCounter struct {
	s           string
	byteAt, pos int
}

func (c *runeCounter) at(b int) int {
	if b < c.byteAt { // a capture inside the last match: count from the start of it
		return c.pos - utf8.RuneCountInString(c.s[b:c.byteAt])
	}
	c.pos += utf8.RuneCountInString(c.s[c.byteAt:b])
	c.byteAt = b
	return c.pos
}

// regexCall is one regular expression builtin on v with args [re, flags]:
// "match" the match objects, "test" whether any, "split" the strings
// between matches, "sub" the same with each match's named captures
// between them ([piece, captures, piece, ..., piece]).
func regexCall(v any, args []any, kind string) any {
	s, ok := v.(string)
	pattern, ok2 := args[0].(string)
	flags, ok3 := args[1].(string)
	if args[1] == nil {
		ok3 = true
	}
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("%s cannot be applied to: %s, %s, %s", kind, typeText(v), typeText(args[0]), typeText(args[1]))
	}
	if kind == "split" && !strings.ContainsRune(flags, 'g') {
		flags += "g"
	}
	m, err := compileRegexp(pattern, flags)
	if err != nil {
		return err
	}
	if kind == "test" {
		return m.re.MatchString(s)
	}
	xs, err := m.find(s, strings.ContainsRune(flags, 'g'))
	if err != nil {
		return err
	}
	names := m.re.SubexpNames()
	switch kind {
	case "split":
		out := make([]any, 0, len(xs)+1)
		prev := 0
		for _, x := range xs {
			out = append(out, s[prev:x[0]])
			prev = x[1]
		}
		return append(out, s[prev:])
	case "sub":
		out := make([]any, 0, 2*len(xs)+1)
		prev := 0
		var none map[string]any // one empty object for every match without named groups
		for _, x := range xs {
			out = append(out, s[prev:x[0]])
			named := none
			for j := 1; j < len(names); j++ {
				if names[j] == "" {
					continue
				}
				if named == nil {
					named = map[string]any{}
				}
				if x[2*j] < 0 {
					named[names[j]] = nil
				} else {
					named[names[j]] = s[x[2*j]:x[2*j+1]]
				}
			}
			if named == nil {
				if none == nil {
					none = map[string]any{}
				}
				named = none
			}
			out = append(out, named)
			prev = x[1]
		}
		return append(out, s[prev:])
	}
	out := make([]any, len(xs))
	c := runeCounter{s: s}
	for i, x := range xs {
		start := c.at(x[0])
		captures := make([]any, 0, len(x)/2-1)
		for j := 1; j < len(x)/2; j++ {
			var name any
			if names[j] != "" {
				name = names[j]
			}
			if x[2*j] < 0 {
				captures = append(captures, map[string]any{"name": name, "offset": -1, "length": 0, "string": nil})
				continue
			}
			off := start + utf8.RuneCountInString(s[x[0]:x[2*j]])
			captures = append(captures, map[string]any{"name": name, "offset": off,
				"length": utf8.RuneCountInString(s[x[2*j]:x[2*j+1]]), "string": s[x[2*j]:x[2*j+1]]})
		}
		out[i] = map[string]any{"offset": start, "length": c.at(x[1]) - start, "string": s[x[0]:x[1]], "captures": captures}
	}
	return out
}

// namedCaptures is jq's _captures: a match's named captures as an object.
func namedCaptures(v any) any {
	caps, ok := v.([]any)
	if !ok {
		return fmt.Errorf("cannot take the captures of %s", typeText(v))
	}
	out := make(map[string]any, len(caps))
	for _, c := range caps {
		if c, ok := c.(map[string]any); ok {
			if name, ok := c["name"].(string); ok {
				out[name] = c["string"]
			}
		}
	}
	return out
}

// indices finds x in v (a string in a string, an array or an item in an
// array) with Knuth-Morris-Pratt: which = 0 all starts, 1 the first, -1
// the last, in characters for strings as jq counts them.
func indices(v, x any, which any) any {
	w, _ := which.(int)
	name := map[int]string{0: "indices", 1: "index", -1: "rindex"}[w]
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		t, ok := x.(string)
		if !ok {
			return fmt.Errorf("%s cannot be applied to %s: %s", name, typeText(v), typeText(x))
		}
		hay, needle := []rune(v), []rune(t)
		return kmp(len(hay), len(needle), func(i, j int) bool { return hay[i] == needle[j] },
			func(i, j int) bool { return needle[i] == needle[j] }, w)
	case []any:
		needle, ok := x.([]any)
		if !ok {
			needle = []any{x}
		}
		return kmp(len(v), len(needle), func(i, j int) bool { return gojq.Compare(v[i], needle[j]) == 0 },
			func(i, j int) bool { return gojq.Compare(needle[i], needle[j]) == 0 }, w)
	}
	return fmt.Errorf("%s cannot be applied to %s: %s", name, typeText(v), typeText(x))
}

// kmp finds the (overlapping) occurrences of a needle of m items in a
// haystack of n in O(n+m) comparisons: hayEq compares haystack item i
// with needle item j, selfEq two items of the needle.
func kmp(n, m int, hayEq, selfEq func(i, j int) bool, which int) any {
	if m == 0 {
		if which == 0 {
			return []any{}
		}
		return nil
	}
	// border[j]: the length of the longest proper border of needle[:j+1].
	border := make([]int, m)
	for j, k := 1, 0; j < m; j++ {
		for k > 0 && !selfEq(j, k) {
			k = border[k-1]
		}
		if selfEq(j, k) {
			k++
		}
		border[j] = k
	}
	var all []any
	last := -1
	for i, k := 0, 0; i < n; i++ {
		for k > 0 && !hayEq(i, k) {
			k = border[k-1]
		}
		if hayEq(i, k) {
			k++
		}
		if k == m {
			start := i - m + 1
			switch which {
			case 1:
				return start
			case 0:
				all = append(all, start)
			}
			last = start
			k = border[k-1]
		}
	}
	switch {
	case which == 0 && all == nil:
		return []any{}
	case which == 0:
		return all
	case last < 0:
		return nil
	}
	return last
}

// contains is jq's contains (strings by substring, arrays by every item
// of b contained in some item of a, objects key by key), counting its
// comparisons in steps. Values of different types are an error at the
// top, and not contained below it.
func contains(a, b any, steps *int, top bool) (bool, error) {
	*steps--
	if *steps < 0 {
		return false, fmt.Errorf("contains compared more than %d values", maxSteps)
	}
	switch b := b.(type) {
	case string:
		if a, ok := a.(string); ok {
			*steps -= len(a) / 64
			return strings.Contains(a, b), nil
		}
	case []any:
		if a, ok := a.([]any); ok {
		next:
			for _, y := range b {
				for _, x := range a {
					ok, err := contains(x, y, steps, false)
					if err != nil {
						return false, err
					}
					if ok {
						continue next
					}
				}
				return false, nil
			}
			return true, nil
		}
	case map[string]any:
		if a, ok := a.(map[string]any); ok {
			if len(a) < len(b) {
				return false, nil
			}
			for k, y := range b {
				x, found := a[k]
				if !found {
					return false, nil
				}
				ok, err := contains(x, y, steps, false)
				if err != nil || !ok {
					return false, err
				}
			}
			return true, nil
		}
	}
	if typeText(a) != typeText(b) {
		if !top {
			return false, nil
		}
		return false, fmt.Errorf("%s and %s cannot have their containment checked", typeText(a), typeText(b))
	}
	return gojq.Compare(a, b) == 0, nil
}

// toNumber reads a long number text (past maxDigits) as a float: jq's
// tonumber would parse an integer with math/big, in quadratic time.
func toNumber(v any) any {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("cannot parse %q as a number", s[:min(len(s), 32)]+"...")
	}
	return f
}

// typeText is a value's jq type name.
func typeText(v any) string { return gojq.TypeOf(v) }
