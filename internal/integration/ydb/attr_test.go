package ydb

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAttrRoundTrip: plain JSON → AttributeValue → plain JSON keeps every
// value: exact numbers, nested maps, lists, booleans, null, unicode.
func TestAttrRoundTrip(t *testing.T) {
	for _, src := range []string{
		`{"id":"42","n":12345678901234567890,"f":1.5e-3,"neg":-7,"ok":true,"no":false,"nil":null}`,
		`{"nested":{"deep":{"list":[1,"two",[3],{"four":4}]}},"empty":{},"none":[]}`,
		`{"text":"ёлка \"quoted\" \u0001"}`,
	} {
		dec := json.NewDecoder(bytes.NewReader([]byte(src)))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		item, err := toItem(obj)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := json.Marshal(fromItem(item))
		want, _ := json.Marshal(obj)
		if !bytes.Equal(back, want) {
			t.Errorf("round trip of %s:\n got %s\nwant %s", src, back, want)
		}
	}
}
