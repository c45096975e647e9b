package schemamap

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// outputs runs a program on an input: its values, or "error".
func outputs(t *testing.T, src string, input any, ours bool) any {
	t.Helper()
	q, err := gojq.Parse(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	var code *gojq.Code
	if ours {
		code, err = gojq.Compile(withPrelude(q), options...)
	} else {
		code, err = gojq.Compile(q)
	}
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	var out []any
	iter := code.Run(input)
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if _, isErr := v.(error); isErr {
			return "error"
		}
		out = append(out, v)
	}
	// Compare as JSON: numbers of either kind are the same number.
	b, _ := gojq.Marshal(out)
	var norm any
	json.Unmarshal(b, &norm)
	return norm
}

// The builtins that replace gojq's give gojq's results.
func TestBuiltinsMatchGojq(t *testing.T) {
	strs := []any{"", "a", "abc", "a b  c", "aaa", "xyz", "héllo wörld ü", "foo bar foo", "a\nb\nc", "AbC abc", "日本語テキスト 日本", "a,b, cd, efg", 1, nil, []any{"a"}}
	progs := []string{
		`[match("a")]`, `[match("a"; "g")]`, `[match("(a)|(b)"; "g")]`, `[match("(?<x>o)(?<y>\\w)?"; "g")]`,
		`[match(["O", "gi"])]`, `[match(""; "g")]`, `[match("a*"; "g")]`, `[match("\\b"; "g")]`, `[match("^"; "g")]`, `[match("ö|ü"; "g")]`,
		`[match("(?<n>\\d+)?x"; "g")]`, `[match("."; "m")]`, `[match("a"; "q")]`, `[match("(")]`,
		`test("a")`, `test("A"; "i")`, `test(["B", "i"])`, `test("^$")`,
		`[capture("(?<first>\\w)(?<second>\\w)")]`, `[capture("(?<w>\\w+)"; "g")]`, `[capture(["(?<c>[a-z])", "g"])]`,
		`[scan("\\w")]`, `[scan("(\\w)(\\w)")]`, `[scan("o"; "i")]`, `[scan("")]`,
		`[splits(" ")]`, `[splits(", *"; null)]`, `split(" +"; null)`, `split(""; "g")`, `[splits("a*")]`,
		`sub("a"; "X")`, `gsub("a"; "X")`, `gsub(" "; "_")`, `gsub("(?<l>[a-z])"; "<\(.l)>")`, `gsub(""; "-")`,
		`[gsub("a"; "1", "2")]`, `[sub("(?<x>.)"; "\(.x)\(.x)", "!")]`, `gsub("A"; "x"; "i")`, `gsub("\\s+"; "")`,
		`[gsub("a"; empty)]`, `gsub("o"; "0"; "g")`, `sub("$"; "!")`, `gsub("^"; ">")`,
		`indices("a")`, `indices(", ")`, `indices("aa")`, `indices("")`, `index("b")`, `rindex("a")`, `index("zz")`, `rindex("")`,
		`contains("b")`, `inside("abcd")`, `contains("ö")`,
		`tonumber`,
	}
	for _, p := range progs {
		for _, in := range strs {
			if got, want := outputs(t, p, in, true), outputs(t, p, in, false); !reflect.DeepEqual(got, want) {
				t.Errorf("%q | %s: ours %v, gojq %v", in, p, got, want)
			}
		}
	}
	values := []any{
		[]any{1, 2, 1, 2, 1}, []any{"a", []any{1}, map[string]any{"k": "v"}}, map[string]any{"a": []any{1, 2}, "b": "text", "c": map[string]any{"d": 1}},
		[]any{}, 0, 1.5, true, nil, "12", " 3.5 ", "1e400", "x1",
	}
	vprogs := []string{
		`indices(1)`, `indices([1, 2])`, `indices([1, 2, 1])`, `indices([])`, `index([2, 1])`, `rindex([1, 2])`, `rindex(1)`,
		`contains([1])`, `contains([[1]])`, `contains({"a": [1]})`, `contains({"c": {}})`, `contains({"b": "ex"})`, `contains("x")`, `contains(1)`,
		`contains(null)`, `contains(true)`, `inside([1, 2, 3])`, `inside({"a": [1, 2, 3], "b": "texts", "c": {"d": 1, "e": 2}})`,
		`tonumber`,
	}
	for _, p := range vprogs {
		for _, in := range values {
			if got, want := outputs(t, p, in, true), outputs(t, p, in, false); !reflect.DeepEqual(got, want) {
				b, _ := json.Marshal(in)
				t.Errorf("%s | %s: ours %v, gojq %v", b, p, got, want)
			}
		}
	}
}

// What made gojq's builtins take minutes (hours for the 2.4 MB gsub) takes
// a second or so: every one of them on a 2.4 MB body of spaces and words.
// The line is a minute, far from both, so that a loaded machine under
// -race does not fail it; -v prints the times.
func TestBuiltinsStayLinear(t *testing.T) {
	body := strings.Repeat("ab ", 800_000) // 2.4 MB, 800,000 spaces
	aaa := strings.Repeat("a", 1_200_000)
	for _, tc := range []struct {
		prog  string
		input any
	}{
		{`gsub(" "; "_") | length`, body[:240_000]}, // within maxMatches
		{`gsub(" "; "_")`, body},                    // past maxMatches: an error, fast
		{`[match(" "; "g")] | length`, body},
		{`[scan("b")] | length`, body},
		{`[splits(" ")] | length`, body},
		{`test("zz")`, body},
		{`indices($x) | length`, aaa},
		{`rindex($x)`, aaa},
		{`contains($x)`, aaa},
		{`[range(2000)] as $a | $a | contains($a)`, nil},
		{`tonumber`, strings.Repeat("9", 2_000_000)},
	} {
		q, err := gojq.Parse(tc.prog)
		if err != nil {
			t.Fatal(err)
		}
		code, err := gojq.Compile(withPrelude(q), append([]gojq.CompilerOption{gojq.WithVariables([]string{"$x"})}, options...)...)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		iter := code.RunWithContext(context.Background(), tc.input, aaa[:600_000])
		v, _ := iter.Next()
		d := time.Since(start)
		text := fmt.Sprint(v)
		text = text[:min(len(text), 80)]
		if d > time.Minute {
			t.Errorf("%s: %s (%s)", tc.prog, d, text)
		}
		t.Logf("%s: %s (%s)", tc.prog, d, text)
	}
}
