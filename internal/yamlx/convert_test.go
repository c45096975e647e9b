package yamlx

import (
	"strings"
	"testing"
)

func TestToJSONKeepsOrderAndTypes(t *testing.T) {
	out, err := ToJSON([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1.0'}\nz: 1\na: [true, null, 2.5, \"x\", 0x1f]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"openapi":"3.0.0","info":{"title":"t","version":"1.0"},"z":1,"a":[true,null,2.5,"x",31]}`
	if got := strings.Join(strings.Fields(out), ""); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestToYAMLFromJSON(t *testing.T) {
	out, err := ToYAML([]byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1.0"},"paths":{"/x":{"get":{"x-n":"123"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "openapi: 3.0.0\ninfo:\n  title: t\n  version: \"1.0\"\npaths:\n  /x:\n    get:\n      x-n: \"123\"\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}
