package yamlx

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

type corsLike struct {
	Origin         string   `yaml:"origin"`
	AllowedHeaders []string `yaml:"allowedHeaders"`
	ExposedHeaders []string `yaml:"exposedHeaders"`
	MaxAge         int      `yaml:"maxAge"`
}

type integrationLike struct {
	Type             string                  `yaml:"type"`
	FunctionID       string                  `yaml:"function_id"`
	QueueURL         string                  `yaml:"queue_url"`
	ServiceAccountID string                  `yaml:"service_account_id"`
	Timeouts         *struct{ Read float64 } `yaml:"timeouts"`
	Nested           []corsLike              `yaml:"nested"`
	Raw              yaml.Node               `yaml:"raw"`
}

func TestDecodeExtensionWarnsAndIgnoresUnknownKeys(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // warnings, in order
	}{
		{"camel-case typo", "{type: x, nested: [{origin: '*', allowHeaders: [a]}]}",
			[]string{`1:34: i.nested[0]: warning: unknown key "allowHeaders", ignored; did you mean "allowedHeaders"?`}},
		{"hyphen for underscore", "{type: x, function-id: f}",
			[]string{`1:11: i: warning: unknown key "function-id", ignored; did you mean "function_id"?`}},
		{"a shared stem", "{type: x, queue_id: q}",
			[]string{`1:11: i: warning: unknown key "queue_id", ignored; did you mean "queue_url"?`}},
		{"a shorter name inside a known one", "{nested: [{headers: [a]}]}",
			[]string{`1:12: i.nested[0]: warning: unknown key "headers", ignored; did you mean "allowedHeaders"?`}},
		{"nothing close", "{type: x, burst: 5}", []string{`1:11: i: warning: unknown key "burst", ignored`}},
		{"inside a pointer struct", "{timeouts: {read: 1, connect_ms: 5}}", []string{`1:22: i.timeouts: warning: unknown key "connect_ms", ignored`}},
		{"raw nodes are not checked", "{raw: {anything: goes}}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v integrationLike
			errs := DecodeExtension(parse(t, tt.src), &v, "i")
			if errs.Err() != nil {
				t.Fatalf("errors: %v", errs)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestDecodeExtensionDecodesTheKnownKeys(t *testing.T) {
	var v integrationLike
	src := "{type: http, allowHeaders: x, function_id: f, nested: [{origin: o, bogus: 1, maxAge: 7}, {origin: p}], timeouts: {read: 2}}"
	errs := DecodeExtension(parse(t, src), &v, "i")
	if errs.Err() != nil || len(errs.Warnings()) != 2 {
		t.Fatalf("%v", errs)
	}
	if v.Type != "http" || v.FunctionID != "f" || len(v.Nested) != 2 || v.Nested[0].Origin != "o" || v.Nested[0].MaxAge != 7 ||
		v.Nested[1].Origin != "p" || v.Timeouts == nil || v.Timeouts.Read != 2 {
		t.Errorf("decoded %+v", v)
	}
}

func TestDecodeExtensionAliases(t *testing.T) {
	for _, src := range []string{"{serviceAccountId: sa1}", "{service_account: sa1}", "{service_account_id: sa1}"} {
		var v integrationLike
		if errs := DecodeExtension(parse(t, src), &v, "i"); len(errs) != 0 || v.ServiceAccountID != "sa1" {
			t.Errorf("%s: %q, %v", src, v.ServiceAccountID, errs)
		}
	}
	var v integrationLike
	errs := DecodeExtension(parse(t, "{service_account_id: a, serviceAccountId: b}"), &v, "i")
	if errs.Err() == nil || !strings.Contains(errs.Error(), `"service_account_id" and "serviceAccountId" are the same setting`) {
		t.Errorf("both spellings: %v", errs)
	}
}

func TestDecodeStaysStrict(t *testing.T) {
	var v integrationLike
	errs := Decode(parse(t, "{type: x, function-id: f}"), &v, "b")
	want := `1:11: b: unknown key "function-id"; did you mean "function_id"? (allowed: function_id, nested, queue_url, raw, service_account_id, timeouts, type)`
	if errs.Err() == nil || errs.Error() != want {
		t.Errorf("got  %v\nwant %s", errs, want)
	}
	if errs := Decode(parse(t, "{serviceAccountId: a}"), &v, "b"); errs.Err() == nil {
		t.Error("the strict decoder accepted an alias")
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"origin", "methods", "allowedHeaders", "exposedHeaders", "credentials", "maxAge"}
	for key, want := range map[string]string{
		"allowHeaders": "allowedHeaders", "orgin": "origin", "max_age": "maxAge", "Methods": "methods",
		"credential": "credentials", "headers": "allowedHeaders", "burst": "", "x": "", "": "",
	} {
		if got := Suggest(key, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", key, got, want)
		}
	}
	if got := Suggest("timeout_ms", []string{"url", "timeouts"}); got != "timeouts" {
		t.Errorf("timeout_ms: %q", got)
	}
}

func TestDedupKeepsTheFirstUseOfAComponent(t *testing.T) {
	var l List
	n := &yaml.Node{Line: 7, Column: 3}
	l.Warnf(n, "paths./a.get.x-yc-apigateway-integration", "unknown key %q, ignored", "x")
	l.Warnf(n, "paths./b.get.x-yc-apigateway-integration", "unknown key %q, ignored", "x")
	l.Errorf(n, "paths./b.get.x-yc-apigateway-integration", "unknown key %q, ignored", "x")
	l.Errorf(nil, "variables.a", "not declared")
	l.Errorf(nil, "variables.b", "not declared")
	got := l.Dedup()
	if len(got) != 4 || got[0].Path != "paths./a.get.x-yc-apigateway-integration" || got[1].Warning {
		t.Errorf("Dedup = %v", got)
	}
}
