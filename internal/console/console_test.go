package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/websocket"
)

func TestMask(t *testing.T) {
	r := NewRecorder(Options{Redact: []string{"x-api-key"}})
	h := http.Header{"Authorization": {"Bearer abc", "Basic Zm9v"}, "Cookie": {"a=1"}, "X-Api-Key": {"k"}, "Accept": {"*/*"}}
	got := r.Mask(h, nil)
	want := map[string]string{"Authorization": "Bearer " + Masked, "Cookie": Masked, "X-Api-Key": Masked, "Accept": "*/*"}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
	if got["Authorization"][1] != "Basic "+Masked || h.Get("Authorization") != "Bearer abc" {
		t.Errorf("the copy is %v; the original must stay %v", got, h)
	}
	if open := NewRecorder(Options{ShowSecrets: true}).Mask(h, nil); open.Get("Authorization") != "Bearer abc" {
		t.Errorf("show_secrets masked %q", open.Get("Authorization"))
	}
	ev := r.MaskEvent([]byte(`{"headers":{"Authorization":"Bearer abc","Accept":"x"},"multiValueHeaders":{"Cookie":["a=1","b=2"]},"body":"Bearer abc"}`), nil)
	// The headers are masked; the body is the client's and stays.
	if strings.Count(string(ev), "Bearer abc") != 1 || strings.Contains(string(ev), "a=1") || !strings.Contains(string(ev), `"Accept":"x"`) {
		t.Errorf("event masked as %s", ev)
	}
}

// What the spec says is a credential is masked wherever a record shows
// it: an apiKey's header and query parameter (in the query, in the
// event's maps and 0.1's url), a declared cookie's or secret header's
// value in the event's parameter maps, and Set-Cookie in a function's
// answer.
func TestMaskSpecSecrets(t *testing.T) {
	r := NewRecorder(Options{})
	sec := &Secrets{Headers: map[string]bool{"X-Api-Key": true}, Query: map[string]bool{"api_key": true},
		Params: map[string]string{"session": "cookie", "Authorization": "header", "api_key": "query", "page": "query", "X-Trace": "header"}}
	h := r.View(http.Header{"X-Api-Key": {"k1"}, "Accept": {"*/*"}}, sec)
	if h.Get("X-Api-Key") != Masked || h.Get("Accept") != "*/*" {
		t.Errorf("headers: %v", h)
	}
	e := &Exchange{}
	if q := r.KeepSecrets(e, nil, "page=2&api_key=k2&api_key=k3", sec); q != "page=2&api_key="+url.QueryEscape(Masked)+"&api_key="+url.QueryEscape(Masked) || e.rawQuery != "page=2&api_key=k2&api_key=k3" {
		t.Errorf("query shown as %q, kept %q", q, e.rawQuery)
	}
	ev := string(r.MaskEvent([]byte(`{"url":"/p?api_key=k2&page=2","headers":{"X-Api-Key":"k1"},"queryStringParameters":{"api_key":"k2","page":"2"},`+
		`"params":{"session":"s3","Authorization":"Bearer t4","api_key":"k2","page":"2","X-Trace":"t"},"multiValueParams":{"session":["s3"]},`+
		`"parameters":{"session":"s3"}}`), sec))
	for _, secret := range []string{"k1", "k2", "s3", "t4"} {
		if strings.Contains(ev, `"`+secret+`"`) || strings.Contains(ev, "="+secret) || strings.Contains(ev, " "+secret) {
			t.Errorf("the event shows %s: %s", secret, ev)
		}
	}
	for _, kept := range []string{`"page":"2"`, `"X-Trace":"t"`, "page=2"} {
		if !strings.Contains(ev, kept) {
			t.Errorf("the event lost %s: %s", kept, ev)
		}
	}
	ans := string(r.MaskEvent([]byte(`{"statusCode":200,"headers":{"Set-Cookie":"sid=abc"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"<ok & fine>"}`), nil))
	if strings.Contains(ans, "sid=abc") || strings.Contains(ans, "a=1") || !strings.Contains(ans, `"body":"<ok & fine>"`) {
		t.Errorf("the answer: %s", ans)
	}
}

func TestNewBody(t *testing.T) {
	r := NewRecorder(Options{MaxBody: 8})
	for _, tt := range []struct {
		data        string
		size        int64
		ct          string
		text, hex   string
		json, trunc bool
	}{
		{`{"a":1}`, 7, "application/json", `{"a":1}`, "", true, false}, // pretty would pass the cap
		{`[]`, 2, "application/json", `[]`, "", true, false},
		{"plain", 5, "text/plain", "plain", "", false, false},
		{"cut text", 100, "text/plain", "cut text", "", false, true},
		{"h\xc3\xa9llo", 100, "", "h\xc3\xa9llo", "", false, true},
		{"\x00\x01\xff", 3, "", "", "00 01 ff", false, false},
	} {
		b := r.NewBody([]byte(tt.data), tt.size, tt.ct)
		if b.Text != tt.text || b.HexHead != tt.hex || b.JSON != tt.json || b.Truncated != tt.trunc || b.Size != tt.size {
			t.Errorf("NewBody(%q) = %+v", tt.data, b)
		}
	}
}

// JSON is pretty-printed as json.Indent does, but never past the cap:
// indentation grows with depth, and a 20 KB body nested 10,000 deep was
// kept as 100 MB (a 60 KB one as 599 MB).
func TestNewBodyPrettyPrintsWithinTheCap(t *testing.T) {
	r := NewRecorder(Options{MaxBody: 64 << 10})
	for _, src := range []string{`{"a":1}`, `{"a": [1, 2, {"b": "c\"]{,:"}], "d": {}, "e": [ ], "f": null}`, ` [ true , false ] `, `"just a string"`, `{"ü":"\u00fc\\"}`} {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(src), "", "  "); err != nil {
			t.Fatal(err)
		}
		b := r.NewBody([]byte(src), int64(len(src)), "application/json")
		if !b.JSON || b.Text != strings.TrimSpace(want.String()) {
			t.Errorf("%s: %q, want %q", src, b.Text, want.String())
		}
	}
	for _, src := range []string{
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), // 20 KB, 100 MB pretty
		"[" + strings.Repeat("1,", 30000) + "1]",                // 60 KB, 2.5 times that pretty
	} {
		b := r.NewBody([]byte(src), int64(len(src)), "application/json")
		if !b.JSON || len(b.Text) > 64<<10 || b.Text != src {
			t.Errorf("a %d-byte body kept as %d bytes (JSON %v)", len(src), len(b.Text), b.JSON)
		}
	}
}

// Headers past MaxHeaders are cut, and the record says so.
func TestViewCutsLargeHeaders(t *testing.T) {
	r := NewRecorder(Options{})
	h := http.Header{"Authorization": {"Bearer abc"}}
	for i := range 100 {
		h.Set(fmt.Sprintf("X-Big-%03d", i), strings.Repeat("v", 4096))
	}
	v := r.View(h, nil)
	size := 0
	for k, vs := range v {
		for _, x := range vs {
			size += len(k) + len(x)
		}
	}
	if size > MaxHeaders+100 || v.Get(CutHeader) == "" || v.Get("Authorization") != "Bearer "+Masked || v.Get("X-Big-000") == "" {
		t.Errorf("kept %d bytes: cut %q, Authorization %q", size, v.Get(CutHeader), v.Get("Authorization"))
	}
	small := http.Header{"Accept": {"x"}}
	if v := r.View(small, nil); v.Get(CutHeader) != "" || len(v) != 1 {
		t.Errorf("a small header map: %v", v)
	}
}

func TestRingAndCapture(t *testing.T) {
	r := NewRecorder(Options{Entries: 2})
	ch, stop := r.Subscribe()
	defer stop()
	for range 3 {
		r.Add(&Exchange{})
	}
	if l := r.List(); len(l) != 2 || l[0].ID != 3 || l[1].ID != 2 || r.Get(1) != nil || r.Get(2).ID != 2 {
		t.Errorf("ring: %v", l)
	}
	if e := <-ch; e.ID != 1 {
		t.Errorf("first event %d", e.ID)
	}
	r.Clear()
	if len(r.List()) != 0 {
		t.Error("Clear kept exchanges")
	}
	c := NewCapture(4)
	c.Write([]byte("ab"))
	c.Write([]byte("cdef"))
	if string(c.Bytes()) != "abcd" || c.Total() != 6 {
		t.Errorf("capture %q of %d", c.Bytes(), c.Total())
	}
}

type source struct{ base string }

func (s source) Routes() any     { return []string{"r"} }
func (s source) Spec() any       { return map[string]any{"file": "api.yaml"} }
func (s source) APIBase() string { return s.base }
func (s source) Functions() any  { return []string{} }

func (s source) Gateways(context.Context, string) any { return nil }
func (s source) WebSockets() any                      { return []string{} }

func (s source) WebSocketSend(_ context.Context, id, _ string) error    { return gone(id) }
func (s source) WebSocketDisconnect(_ context.Context, id string) error { return gone(id) }
func (s source) Example(op string, _ uint64) (*Example, error) {
	if op != "getThing" {
		return nil, ErrNoOperation
	}
	body := `{"a":1}`
	return &Example{Operation: op, Case: "example", Edit: Edit{Method: "POST", Path: "/things?x=1", Headers: http.Header{"Content-Type": {"application/json"}}, Body: &body}}, nil
}

func gone(id string) error {
	if id == "gone" {
		return websocket.ErrNotFound
	}
	return nil
}

// TestServer: the API behind a token, the stream, curl and replay.
func TestServer(t *testing.T) {
	var replayed *http.Request
	var replayedBody string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replayed = r
		b, _ := io.ReadAll(r.Body)
		replayedBody = string(b)
		w.WriteHeader(201)
	}))
	defer api.Close()
	rec := NewRecorder(Options{})
	srv := httptest.NewServer(&Server{Rec: rec, Source: source{api.URL}, Token: func() string { return "tok" }})
	defer srv.Close()
	get := func(path string, h ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	if res, _ := get("/console/api/exchanges"); res.StatusCode != 401 {
		t.Errorf("without the token: %d", res.StatusCode)
	}
	if res, _ := get("/console/"); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("the page (which asks for the token itself): %d", res.StatusCode)
	}
	// The page's login sets a cookie the later calls carry.
	res, err := http.Post(srv.URL+"/console/api/login", "application/json", strings.NewReader(`{"token":"nope"}`))
	if err != nil || res.StatusCode != 401 {
		t.Errorf("a wrong token logged in: %v", res)
	}
	res, _ = http.Post(srv.URL+"/console/api/login", "application/json", strings.NewReader(`{"token":"tok"}`))
	cookie := res.Cookies()
	if len(cookie) != 1 || !cookie[0].HttpOnly {
		t.Fatalf("login cookie %v", cookie)
	}
	if res, body := get("/console/api/routes", "Cookie", cookie[0].Name+"="+cookie[0].Value); res.StatusCode != 200 || !strings.Contains(body, `"r"`) {
		t.Errorf("with the cookie: %d %s", res.StatusCode, body)
	}
	auth := []string{"Authorization", "Bearer tok"}

	// The stream tells of a new exchange.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/console/api/stream", nil)
	req.Header.Set("Authorization", "Bearer tok")
	sres, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sres.Body.Close()
	lines := bufio.NewReader(sres.Body)
	lines.ReadString('\n') // retry:
	e := &Exchange{Method: "POST", Path: "/items/1", Query: "a=b", Host: "shop.local", Request: Message{
		Headers: rec.Mask(http.Header{"Authorization": {"Bearer real"}, "Content-Type": {"application/json"}}, nil),
		Body:    rec.NewBody([]byte(`{"n":1}`), 7, "application/json")}}
	rec.KeepSecrets(e, http.Header{"Authorization": {"Bearer real"}}, "a=b", nil)
	rec.Add(e)
	var data string
	for data == "" {
		l, err := lines.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "data: "); ok {
			data = d
		}
	}
	var s Summary
	if json.Unmarshal([]byte(data), &s); s.ID != 1 || s.Path != "/items/1" {
		t.Errorf("stream sent %s", data)
	}
	// curl keeps the mask; replay sends the real value, the recorded body,
	// and marks the request.
	if _, body := get("/console/api/exchanges/1/curl", auth...); !strings.Contains(body, "-X 'POST'") || !strings.Contains(body, "Bearer "+Masked) ||
		!strings.Contains(body, `--data-binary '{"n":1}'`) || !strings.Contains(body, "'"+api.URL+"/items/1?a=b'") {
		t.Errorf("curl: %s", body)
	}
	rreq, _ := http.NewRequest("POST", srv.URL+"/console/api/exchanges/1/replay", nil)
	rreq.Header.Set("Authorization", "Bearer tok")
	rres, err := http.DefaultClient.Do(rreq)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rres.Body)
	if rres.StatusCode != 200 || !strings.Contains(string(b), `"status":201`) {
		t.Errorf("replay: %d %s", rres.StatusCode, b)
	}
	if replayed == nil || replayed.Header.Get("Authorization") != "Bearer real" || replayed.Header.Get(ReplayHeader) != "1" ||
		replayed.Host != "shop.local" || replayed.URL.RawQuery != "a=b" || replayedBody != `{"n":1}` {
		t.Errorf("replayed %v body %q", replayed, replayedBody)
	}
	// An edited replay.
	rreq, _ = http.NewRequest("POST", srv.URL+"/console/api/exchanges/1/replay", strings.NewReader(`{"method":"put","path":"/other","headers":{"X-A":["1"]},"body":"new"}`))
	rreq.Header.Set("Authorization", "Bearer tok")
	rreq.ContentLength = -1
	if rres, err = http.DefaultClient.Do(rreq); err != nil || rres.StatusCode != 200 {
		t.Fatalf("edited replay: %v %v", rres, err)
	}
	if replayed.Method != "PUT" || replayed.URL.Path != "/other" || replayed.Header.Get("X-A") != "1" || replayed.Header.Get("Authorization") != "" || replayedBody != "new" {
		t.Errorf("edited replay sent %s %s %v %q", replayed.Method, replayed.URL, replayed.Header, replayedBody)
	}
	// An edit HTTP cannot carry is refused, and nothing is sent.
	for _, edit := range []string{`{"headers":{"Bad Name":["1"]}}`, `{"headers":{"X-A":["a\r\nX-Injected: 1"]}}`} {
		replayed = nil
		rreq, _ = http.NewRequest("POST", srv.URL+"/console/api/exchanges/1/replay", strings.NewReader(edit))
		rreq.Header.Set("Authorization", "Bearer tok")
		rres, err = http.DefaultClient.Do(rreq)
		if err != nil || rres.StatusCode != 400 || replayed != nil {
			t.Errorf("replay with %s: %v %v, sent %v", edit, rres.StatusCode, err, replayed != nil)
		}
	}
	if res, _ := get("/console/api/exchanges/99", auth...); res.StatusCode != 404 {
		t.Errorf("an exchange never kept: %d", res.StatusCode)
	}
}

// A replay sends the path as it came and the values its masks hide (a
// query's too); an edit keeps the recorded value where it keeps the
// placeholder, and a placeholder with no recorded value behind it is
// refused, never sent as if it were the credential.
func TestReplayKeepsRawPathsAndSecrets(t *testing.T) {
	var replayed *http.Request
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { replayed = r }))
	defer api.Close()
	rec := NewRecorder(Options{})
	srv := httptest.NewServer(&Server{Rec: rec, Source: source{api.URL}})
	defer srv.Close()
	sec := &Secrets{Headers: map[string]bool{"X-Api-Key": true}, Query: map[string]bool{"key": true}}
	in := http.Header{"X-Api-Key": {"k1"}, "Authorization": {"Bearer t1"}}
	e := &Exchange{Method: "GET", Path: "/items/a%3Fb=1%23c", Request: Message{Headers: rec.View(in, sec)}}
	e.Query = rec.KeepSecrets(e, in, "key=q1&x=1", sec)
	rec.Add(e)
	replay := func(edit string) (int, string) {
		res, err := http.Post(srv.URL+"/console/api/exchanges/1/replay", "application/json", strings.NewReader(edit))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	res, err := http.Get(srv.URL + "/console/api/exchanges/1/curl")
	if err != nil {
		t.Fatal(err)
	}
	curl, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(curl), "/items/a%3Fb=1%23c?key="+url.QueryEscape(Masked)+"&x=1'") || strings.Contains(string(curl), "q1") || strings.Contains(string(curl), "k1") {
		t.Errorf("curl: %s", curl)
	}
	if st, body := replay(""); st != 200 || replayed.URL.EscapedPath() != "/items/a%3Fb=1%23c" || replayed.URL.RawQuery != "key=q1&x=1" ||
		replayed.Header.Get("X-Api-Key") != "k1" || replayed.Header.Get("Authorization") != "Bearer t1" {
		t.Errorf("replay: %d %s: %s?%s %v", st, body, replayed.URL.EscapedPath(), replayed.URL.RawQuery, replayed.Header)
	}
	edit := `{"path":"/items/a%3Fb=1%23c?x=2&key=` + url.QueryEscape(Masked) + `","headers":{"X-Api-Key":["` + Masked + `"],"Authorization":["Bearer ` + Masked + `"]}}`
	if st, body := replay(edit); st != 200 || replayed.URL.RawQuery != "x=2&key=q1" || replayed.Header.Get("X-Api-Key") != "k1" || replayed.Header.Get("Authorization") != "Bearer t1" {
		t.Errorf("an edit that keeps the placeholders: %d %s: %s %v", st, body, replayed.URL.RawQuery, replayed.Header)
	}
	for _, bad := range []string{
		`{"headers":{"X-Other":["` + Masked + `"]}}`,
		`{"headers":{"X-Api-Key":["k1","` + Masked + `"]}}`,
		`{"path":"/x?other=` + url.QueryEscape(Masked) + `"}`,
	} {
		replayed = nil
		if st, body := replay(bad); st != 400 || replayed != nil || !strings.Contains(body, "masked") {
			t.Errorf("%s: %d %s, sent %v", bad, st, body, replayed != nil)
		}
	}
}

// TestWebSocketCalls: the console's send and disconnect answer 404 for a
// connection that is gone and 400 for a message over the limit.
func TestWebSocketCalls(t *testing.T) {
	srv := httptest.NewServer(&Server{Rec: NewRecorder(Options{}), Source: source{}})
	defer srv.Close()
	for _, tt := range []struct {
		path, body string
		want       int
	}{
		{"/console/api/websocket/abc/send", `{"text":"hi"}`, 200},
		{"/console/api/websocket/gone/send", `{"text":"hi"}`, 404},
		{"/console/api/websocket/abc/send", `{"text":"` + strings.Repeat("x", websocket.MaxSend+1) + `"}`, 400},
		{"/console/api/websocket/abc/send", `not json`, 400},
		{"/console/api/websocket/gone/disconnect", ``, 404},
		{"/console/api/websocket/abc/disconnect", ``, 200},
	} {
		res, err := http.Post(srv.URL+tt.path, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("POST %s: %d, want %d", tt.path, res.StatusCode, tt.want)
		}
	}
}

// TestTryAndSend: the console composes an operation's request from the
// spec (Source.Example) and sends what the page gives back through the
// gateway, behind the token like every call, refusing what HTTP cannot
// carry.
func TestTryAndSend(t *testing.T) {
	var sent *http.Request
	var sentBody string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = r
		b, _ := io.ReadAll(r.Body)
		sentBody = string(b)
		w.WriteHeader(202)
	}))
	defer api.Close()
	srv := httptest.NewServer(&Server{Rec: NewRecorder(Options{}), Source: source{api.URL}, Token: func() string { return "tok" }})
	defer srv.Close()
	call := func(method, path, body string, token bool) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token {
			req.Header.Set("Authorization", "Bearer tok")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	if st, _ := call("GET", "/console/api/try?operation=getThing", "", false); st != 401 {
		t.Errorf("try without the token: %d", st)
	}
	st, body := call("GET", "/console/api/try?operation=getThing", "", true)
	var ex Example
	if err := json.Unmarshal([]byte(body), &ex); st != 200 || err != nil || ex.Method != "POST" || ex.Path != "/things?x=1" || ex.Case != "example" || *ex.Body != `{"a":1}` {
		t.Errorf("try: %d %s", st, body)
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/console/api/try?operation=nope", 404},
		{"/console/api/try", 400},
		{"/console/api/try?operation=getThing&seed=x", 400},
	} {
		if st, body := call("GET", c.path, "", true); st != c.want || !strings.Contains(body, `"message"`) {
			t.Errorf("%s: %d %s, want %d with a message", c.path, st, body, c.want)
		}
	}
	st, body = call("POST", "/console/api/send", `{"method":"post","path":"/things?x=1","headers":{"Content-Type":["application/json"],"Host":["shop.local"]},"body":"{\"a\":1}"}`, true)
	if st != 200 || !strings.Contains(body, `"status":202`) {
		t.Errorf("send: %d %s", st, body)
	}
	if sent == nil || sent.Method != "POST" || sent.URL.RawQuery != "x=1" || sent.Host != "shop.local" || sentBody != `{"a":1}` ||
		!strings.HasPrefix(sent.Header.Get("X-Request-Id"), "console-") || sent.Header.Get(ReplayHeader) != "" {
		t.Errorf("sent %v body %q", sent, sentBody)
	}
	for _, bad := range []string{`{"method":"GET","path":"x"}`, `{"path":"/x"}`, `not json`, `{"method":"GET","path":"/x","headers":{"X-A":["a\r\nX-Injected: 1"]}}`} {
		sent = nil
		if st, _ := call("POST", "/console/api/send", bad, true); st != 400 || sent != nil {
			t.Errorf("send %s: %d, sent %v", bad, st, sent != nil)
		}
	}
}
