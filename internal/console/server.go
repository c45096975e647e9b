package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/net/http/httpguts"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/websocket"
)

//go:embed ui
var ui embed.FS

// Source is what the console shows besides the exchanges: the serving
// snapshot's routes, the spec's state, and where the API listens (for
// replays). The server implements it.
type Source interface {
	Routes() any
	Spec() any
	APIBase() string
	// Functions describes the local function processes and their output.
	Functions() any
	// Gateways lists the gateways created through the control plane,
	// with their specs' errors, and the operations of the one named by
	// id (nil: no control plane).
	Gateways(ctx context.Context, id string) any
	// WebSockets lists the open connections of this replica;
	// WebSocketSend and WebSocketDisconnect act on one, wherever it is.
	WebSockets() any
	WebSocketSend(ctx context.Context, id, text string) error
	WebSocketDisconnect(ctx context.Context, id string) error
	// Example generates a request for the operation named (operationId, or
	// "METHOD /path"); seed picks another (0: the spec's example first).
	Example(operation string, seed uint64) (*Example, error)
}

// Server serves the page (/console/...) and its JSON API
// (/console/api/...).
type Server struct {
	Rec    *Recorder
	Source Source
	// Token, when it returns a token, is asked of every call: as a bearer
	// token, or the cookie the page sets once it has been given it.
	Token func() string
	// Client sends replays (nil: a default with a 5-minute timeout).
	Client *http.Client

	streams atomic.Int64
}

// MaxStreams bounds the live streams open at once.
const MaxStreams = 32

const cookieName = "apigw_console"

// ReplayHeader marks a replayed request: its value is the ID of the
// exchange it repeats, which the gateway records as ReplayOf.
const ReplayHeader = "X-Apigw-Replay-Of"

// ServeHTTP serves the console. The admin listener's rules
// (internal/adminguard: no rebound host names without a token, nothing
// from other sites but navigations, changes as JSON) apply before it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/console")
	if rest, ok := strings.CutPrefix(path, "/api/"); ok {
		if rest == "login" && r.Method == http.MethodPost {
			s.login(w, r)
			return
		}
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, "the console needs its token (console.token in the bindings)")
			return
		}
		s.api(w, r, rest)
		return
	}
	if asset, ok := strings.CutPrefix(path, "/assets/"); ok {
		s.asset(w, r, asset)
		return
	}
	// Every view has its own address; the page itself is one.
	switch {
	case path == "", path == "/", path == "/routes", path == "/functions", path == "/websocket", path == "/spec", path == "/gateways",
		strings.HasPrefix(path, "/requests/"):
		page, _ := ui.ReadFile("ui/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		w.Write(page)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(ui, "ui/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *Server) token() string {
	if s.Token == nil {
		return ""
	}
	return s.Token()
}

func (s *Server) authorized(r *http.Request) bool {
	want := s.token()
	if want == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		if c, err := r.Cookie(cookieName); err == nil {
			got = c.Value
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// login takes {"token": ...} and, when it is the console's, sets the
// cookie the page's later calls (and its live stream) carry.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Token string }
	json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in)
	want := s.token()
	if want != "" && subtle.ConstantTimeCompare([]byte(in.Token), []byte(want)) != 1 {
		writeError(w, http.StatusUnauthorized, "that is not the console's token")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: in.Token, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, map[string]bool{"ok": true})
}

func (s *Server) api(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "exchanges" && r.Method == http.MethodGet:
		writeJSON(w, s.Rec.Summaries())
	case rest == "exchanges" && r.Method == http.MethodDelete:
		s.Rec.Clear()
		writeJSON(w, map[string]bool{"ok": true})
	case strings.HasPrefix(rest, "exchanges/"):
		s.exchange(w, r, strings.TrimPrefix(rest, "exchanges/"))
	case rest == "stream" && r.Method == http.MethodGet:
		s.stream(w, r)
	case rest == "routes" && r.Method == http.MethodGet:
		writeJSON(w, s.Source.Routes())
	case rest == "spec" && r.Method == http.MethodGet:
		writeJSON(w, s.Source.Spec())
	case rest == "functions" && r.Method == http.MethodGet:
		writeJSON(w, s.Source.Functions())
	case rest == "gateways" && r.Method == http.MethodGet:
		writeJSON(w, s.Source.Gateways(r.Context(), r.URL.Query().Get("id")))
	case rest == "websocket" && r.Method == http.MethodGet:
		writeJSON(w, s.Source.WebSockets())
	case rest == "try" && r.Method == http.MethodGet:
		s.try(w, r)
	case rest == "send" && r.Method == http.MethodPost:
		s.sendNew(w, r)
	case strings.HasPrefix(rest, "websocket/"):
		s.websocket(w, r, strings.TrimPrefix(rest, "websocket/"))
	default:
		writeError(w, http.StatusNotFound, "no such console call: "+r.Method+" /console/api/"+rest)
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request, rest string) {
	idText, action, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	e := s.Rec.Get(id)
	if err != nil || e == nil {
		writeError(w, http.StatusNotFound, "no exchange "+idText+" is kept (the console keeps the most recent ones)")
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, e)
	case action == "curl" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, Curl(e, s.Source.APIBase()))
	case action == "replay" && r.Method == http.MethodPost:
		s.replay(w, r, e)
	default:
		writeError(w, http.StatusNotFound, "no such console call: "+r.Method+" /console/api/exchanges/"+rest)
	}
}

// websocket serves one connection's calls: its messages, a text message
// to send it, a disconnect.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, rest string) {
	id, action, _ := strings.Cut(rest, "/")
	switch {
	case action == "messages" && r.Method == http.MethodGet:
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		writeJSON(w, s.Rec.Messages(id, after))
	case action == "send" && r.Method == http.MethodPost:
		var in struct{ Text string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 256<<10)).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, `the body must be {"text": "..."}`)
			return
		}
		if len(in.Text) > websocket.MaxSend {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("the message is larger than %d bytes", websocket.MaxSend))
			return
		}
		if err := s.Source.WebSocketSend(r.Context(), id, in.Text); err != nil {
			writeError(w, wsStatus(err), err.Error())
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
	case action == "disconnect" && r.Method == http.MethodPost:
		if err := s.Source.WebSocketDisconnect(r.Context(), id); err != nil {
			writeError(w, wsStatus(err), err.Error())
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
	default:
		writeError(w, http.StatusNotFound, "no such console call: "+r.Method+" /console/api/websocket/"+rest)
	}
}

// wsStatus is the answer to a failed send or disconnect: 404 for a
// connection that is gone, 409 for one that cannot take it now.
func wsStatus(err error) int {
	if errors.Is(err, websocket.ErrNotFound) {
		return http.StatusNotFound
	}
	return http.StatusConflict
}

// Edit is what the page may change before a replay; empty fields keep the
// recorded request's.
type Edit struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"` // with the query
	Headers http.Header `json:"headers"`
	Body    *string     `json:"body"`
}

// hopHeaders are the recorded headers a replay does not repeat.
var hopHeaders = map[string]bool{"Host": true, "Content-Length": true, "Connection": true, "Keep-Alive": true,
	"Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "X-Request-Id": true,
	ReplayHeader: true, "Accept-Encoding": true}

// replay sends e again through the gateway's API listener, as it was or
// with the page's edits, and answers the new exchange's ID.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, e *Exchange) {
	var ed Edit
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, int64(s.Rec.MaxBody())*2+65536)).Decode(&ed); err != nil && err != io.EOF {
			writeError(w, http.StatusBadRequest, "the edit must be JSON {method, path, headers, body}: "+err.Error())
			return
		}
	}
	method, target := e.Method, e.Path
	switch {
	case e.rawQuery != "":
		target += "?" + e.rawQuery // the query as it came, its secrets unmasked
	case e.Query != "":
		target += "?" + e.Query
	}
	if ed.Method != "" {
		method = strings.ToUpper(ed.Method)
	}
	if ed.Path != "" {
		if !strings.HasPrefix(ed.Path, "/") {
			writeError(w, http.StatusBadRequest, "the path must start with /")
			return
		}
		target = unmaskQuery(ed.Path, e.rawQuery)
	}
	var body []byte
	switch {
	case ed.Body != nil:
		body = []byte(*ed.Body)
	case e.Request.Body.Truncated || e.Request.Body.Binary:
		writeError(w, http.StatusConflict, "the recorded body was cut at the console's cap (or is binary): send the body with the replay")
		return
	case e.Request.Body.JSON:
		body = compactJSON(e.Request.Body.Text)
	default:
		body = []byte(e.Request.Body.Text)
	}
	headers := e.Request.Headers
	if ed.Headers != nil {
		headers = ed.Headers
	}
	host := ""
	if h := headers.Get("Host"); h != "" && ed.Headers == nil {
		host = h
	} else if e.Host != "" && ed.Headers == nil {
		host = e.Host
	}
	s.send(w, r, outgoing{method: method, target: target, headers: headers, host: host, body: body, secrets: e.secrets, replayOf: e.ID})
}

// unmaskQuery puts the recorded values back in place of the masked ones
// of an edited target's query, parameter by parameter (the n-th masked
// value of a name takes the n-th recorded one).
func unmaskQuery(target, raw string) string {
	path, q, ok := strings.Cut(target, "?")
	if !ok || raw == "" {
		return target
	}
	recorded := map[string][]string{}
	for _, p := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err == nil {
			recorded[name] = append(recorded[name], v)
		}
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err != nil || err2 != nil || value != Masked || len(recorded[name]) == 0 {
			continue
		}
		parts[i] = k + "=" + recorded[name][0]
		recorded[name] = recorded[name][1:]
	}
	return path + "?" + strings.Join(parts, "&")
}

// outgoing is a request the console sends through the gateway: a replay
// (replayOf, and the recorded secrets its masked values stand for) or a
// request of the console's own (Try).
type outgoing struct {
	method, target, host string
	headers              http.Header
	body                 []byte
	secrets              map[string][]string
	replayOf             int64
}

// send sends o to the gateway's API listener and answers its status and,
// when the console recorded it, the new exchange's ID.
func (s *Server) send(w http.ResponseWriter, r *http.Request, o outgoing) {
	req, err := http.NewRequestWithContext(r.Context(), o.method, s.Source.APIBase()+o.target, bytes.NewReader(o.body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "the request cannot be built: "+err.Error())
		return
	}
	for k, vs := range o.headers {
		// An edited header that HTTP cannot carry is the edit's fault
		// (400), not the gateway's (the client would fail with a 502).
		if !httpguts.ValidHeaderFieldName(k) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a valid header name", k))
			return
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("the value of %s holds a character a header cannot carry (a line break or a control character)", k))
				return
			}
		}
		ck := http.CanonicalHeaderKey(k)
		if hopHeaders[ck] {
			continue
		}
		for i, v := range vs {
			// A masked value goes out as it was recorded.
			if strings.HasSuffix(v, Masked) && i < len(o.secrets[ck]) {
				v = o.secrets[ck][i]
			}
			req.Header.Add(ck, v)
		}
	}
	if o.host != "" {
		req.Host = o.host
	}
	// A placeholder left where no recorded value stands for it would go
	// out as if it were the credential.
	for k, vs := range req.Header {
		for _, v := range vs {
			if strings.Contains(v, Masked) {
				writeError(w, http.StatusBadRequest, "the value of "+k+" is masked and the console has no recorded value for it there: paste the secret in its place")
				return
			}
		}
	}
	if strings.Contains(req.URL.RawQuery, url.QueryEscape(Masked)) || strings.Contains(req.URL.RawQuery, Masked) {
		writeError(w, http.StatusBadRequest, "a query parameter is masked and the console has no recorded value for it there: paste the secret in its place")
		return
	}
	rid := "console-" + randomHex(12)
	if o.replayOf != 0 {
		rid = "replay-" + randomHex(12)
		req.Header.Set(ReplayHeader, strconv.FormatInt(o.replayOf, 10))
	}
	req.Header.Set("X-Request-Id", rid)
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := client.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "the request did not reach the gateway: "+err.Error())
		return
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	out := map[string]any{"status": res.StatusCode}
	if id := s.Rec.ByRequestID(rid); id != 0 {
		out["id"] = id
	}
	writeJSON(w, out)
}

// Example is a request the spec describes for one operation, generated as
// `apigw test` makes its first case (the spec's own examples first, then
// values its schemas allow; made-up credentials where it is protected),
// for the console's Try.
type Example struct {
	Operation string `json:"operation"` // as `apigw test` names it
	Case      string `json:"case"`      // "example", "minimal", "random 1"...
	// Note says when the generator gave up on part of the request.
	Note string `json:"note,omitempty"`
	Edit
}

// ErrNoOperation is Source.Example's answer for a name no operation has.
var ErrNoOperation = errors.New("no operation of the serving spec has that name")

// try answers an operation's generated request (?operation=operationId or
// "METHOD /path", &seed=N for another one).
func (s *Server) try(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("operation")
	if name == "" {
		writeError(w, http.StatusBadRequest, "name the operation: ?operation=operationId or ?operation=GET%20/path")
		return
	}
	var seed uint64
	if v := r.URL.Query().Get("seed"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "seed must be a whole number")
			return
		}
		seed = n
	}
	ex, err := s.Source.Example(name, seed)
	switch {
	case errors.Is(err, ErrNoOperation):
		writeError(w, http.StatusNotFound, fmt.Sprintf("%q: %v", name, err))
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeJSON(w, ex)
	}
}

// sendNew sends a request the page composed ({method, path, headers, body}).
func (s *Server) sendNew(w http.ResponseWriter, r *http.Request) {
	var ed Edit
	if err := json.NewDecoder(io.LimitReader(r.Body, int64(s.Rec.MaxBody())*2+65536)).Decode(&ed); err != nil {
		writeError(w, http.StatusBadRequest, "send JSON {method, path, headers, body}: "+err.Error())
		return
	}
	if ed.Method == "" || !strings.HasPrefix(ed.Path, "/") {
		writeError(w, http.StatusBadRequest, "a method and a path that starts with / are needed")
		return
	}
	var body []byte
	if ed.Body != nil {
		body = []byte(*ed.Body)
	}
	s.send(w, r, outgoing{method: strings.ToUpper(ed.Method), target: ed.Path, headers: ed.Headers, host: ed.Headers.Get("Host"), body: body})
}

// stream sends each new exchange's row as a server-sent event.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if s.streams.Add(1) > MaxStreams {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d live streams are open already", MaxStreams))
		return
	}
	defer s.streams.Add(-1)
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	ch, stop := s.Rec.Subscribe()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	io.WriteString(w, "retry: 1000\n: apigw console\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			io.WriteString(w, ": keepalive\n\n")
		case e := <-ch:
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: exchange\nid: %d\ndata: %s\n\n", e.ID, b)
		}
		flusher.Flush()
	}
}

// Curl is e as a curl command line against base; masked values stay masked.
func Curl(e *Exchange, base string) string {
	var b strings.Builder
	b.WriteString("curl")
	if e.Method != http.MethodGet {
		b.WriteString(" -X " + shellQuote(e.Method))
	}
	keys := make([]string, 0, len(e.Request.Headers))
	for k := range e.Request.Headers {
		if !hopHeaders[http.CanonicalHeaderKey(k)] && k != "User-Agent" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range e.Request.Headers[k] {
			b.WriteString(" \\\n  -H " + shellQuote(k+": "+v))
		}
	}
	if body := e.Request.Body; body.Size > 0 && !body.Binary {
		text := body.Text
		if body.JSON {
			text = string(compactJSON(text))
		}
		b.WriteString(" \\\n  --data-binary " + shellQuote(text))
	}
	target := base + e.Path
	if e.Query != "" {
		target += "?" + e.Query
	}
	b.WriteString(" \\\n  " + shellQuote(target) + "\n")
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func compactJSON(s string) []byte {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return []byte(s)
	}
	return b.Bytes()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": status, "message": msg})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
