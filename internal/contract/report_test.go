package contract

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/policy/validate"
)

func TestReports(t *testing.T) {
	op := &Operation{ID: "getPet", Method: "GET", Template: "/pets/{id}"}
	results := []Result{
		{Op: op, Case: Case{Name: "example", Method: "GET", Path: "/pets/1", Header: http.Header{"X-Key": {"it's"}}}, Status: 200,
			Checks: []Check{{Name: "status", Pass: true}, {Name: "body", Problems: []validate.Problem{{In: "body", Field: "/id", Message: "value must be an integer"}}}}},
		{Op: op, Case: Case{Name: "invalid: x", Method: "POST", Path: "/pets/1?a=b", Header: http.Header{}, Body: []byte(`{"a":"b"}`), Invalid: true}, Status: 400,
			Checks: []Check{{Name: "rejects-invalid", Pass: true}}},
	}
	var text bytes.Buffer
	WriteText(&text, "http://h", results, true)
	for _, want := range []string{
		"PASS getPet GET /pets/{id} [example] status (200)\n",
		"FAIL getPet GET /pets/{id} [example] body (200)\n",
		`     curl -i 'http://h/pets/1' -H 'X-Key: it'\''s'` + "\n",
		"     body /id: value must be an integer\n",
		"PASS getPet GET /pets/{id} [invalid: x] rejects-invalid (400)\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if s := Summarize(results, time.Second).String(); s != "FAILED: 1 operation, 2 requests, 3 checks, 1 failed in 1s" {
		t.Errorf("summary %q", s)
	}
	var quiet bytes.Buffer
	WriteText(&quiet, "http://h", results, false)
	if strings.Contains(quiet.String(), "PASS") || !strings.Contains(quiet.String(), "FAIL") {
		t.Errorf("quiet:\n%s", quiet.String())
	}
	if c := results[1].Curl("http://h"); c != `curl -i -X POST 'http://h/pets/1?a=b' --data-binary '{"a":"b"}'` {
		t.Errorf("curl %s", c)
	}
	var x bytes.Buffer
	if err := WriteJUnit(&x, "http://h", results, time.Second); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(x.Bytes(), &r); err != nil || r.Tests != 3 || r.Failures != 1 {
		t.Errorf("junit %+v %v:\n%s", r, err, x.String())
	}
}
