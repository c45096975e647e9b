package headers

import (
	"net/http"
	"reflect"
	"testing"
)

func TestEndToEnd(t *testing.T) {
	in := http.Header{
		"Connection": {"keep-alive, X-Private"}, "X-Private": {"p"}, "Keep-Alive": {"timeout=5"},
		"Transfer-Encoding": {"chunked"}, "Upgrade": {"h2c"}, "Te": {"trailers"},
		"Accept": {"*/*"}, "Cookie": {"a=1"}, "Authorization": {"Bearer x"}, "X-Drop": {"d"},
	}
	got := EndToEnd(in, map[string]bool{"X-Drop": true})
	want := http.Header{"Accept": {"*/*"}, "Cookie": {"a=1"}, "Authorization": {"Bearer x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EndToEnd = %v, want %v", got, want)
	}
	if v := AppendForwardedFor(http.Header{"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"}}, "1.2.3.4"); v != "10.0.0.1, 10.0.0.2, 1.2.3.4" {
		t.Errorf("AppendForwardedFor = %q", v)
	}
	if v := AppendForwardedFor(http.Header{}, "1.2.3.4"); v != "1.2.3.4" {
		t.Errorf("AppendForwardedFor without a prior value = %q", v)
	}
}
