package jsontree

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseTree: the arena parser accepts exactly what encoding/json
// decodes, and yields the same value.
func FuzzParseTree(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `0`, `-3`, `2147483648`, `0.5`, `"x"`, `[]`, `["x","x"]`, `{}`, `{"a":"ab","b":11}`,
		`{"next":{"next":{"v":"x"}}}`, `{"a":[1]}`, `{"a":1,"a":2}`,
		`{"a":"\u00e9\ud83d\ude00\ud800x","b":[1e2,-0.5e-3,{}]}`, "\"\xff\"", `[1,]`, `01`, `1e400`, ` {"a" : [ true , false ] } `, `"\u12"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		wantErr := json.Unmarshal(data, &want)
		var tr Tree
		err := Parse(data, &tr)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: Parse error %v, encoding/json error %v", data, err, wantErr)
		}
		if err == nil {
			if got := tr.Value(0); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: parsed %#v, encoding/json %#v", data, got, want)
			}
		}
	})
}

// A number beyond a float's range is refused with a message short enough
// to go to the client: it quoted the whole number, a megabyte of it if
// that is what came.
func TestHugeNumberErrorIsShort(t *testing.T) {
	var tr Tree
	body := []byte(`{"n":` + strings.Repeat("7", 1<<20) + `}`)
	err := Parse(body, &tr)
	if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "out of range") || len(err.Error()) > 200 {
		t.Fatalf("%d bytes of error: %.200v", len(fmt.Sprint(err)), err)
	}
}
