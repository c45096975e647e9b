// Package console is the developer console of the admin listener: it
// records the gateway's recent exchanges in a bounded ring (secrets masked,
// bodies capped), streams them to the page as they happen, replays them,
// and serves the page and its JSON API (/console/, /console/api/).
//
// Recording costs nothing while the console is off: the gateway asks for a
// Trace only when a Recorder is installed.
package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Exchange is one request and its answer as the console shows it.
type Exchange struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Query       string    `json:"query,omitempty"`
	Host        string    `json:"host"`
	Proto       string    `json:"proto"`
	ClientIP    string    `json:"clientIp"`
	Route       string    `json:"route,omitempty"`
	OperationID string    `json:"operationId,omitempty"`
	Integration string    `json:"integration,omitempty"`
	Status      int       `json:"status"`
	DurationMS  float64   `json:"durationMs"`
	Bytes       int64     `json:"bytes"`
	// ReplayOf is the exchange this one replays (0: none).
	ReplayOf  int64   `json:"replayOf,omitempty"`
	RequestID string  `json:"requestId"`
	Request   Message `json:"request"`
	Response  Message `json:"response"`
	// Auth is the authorizers' verdict ("allowed", "denied") and context.
	Auth string `json:"auth,omitempty"`
	// SWS is a cloud security profile's verdict: the deciding rule and
	// action, dry runs, the WAF's matched rules, the rate limiter's rule.
	SWS         *SWSVerdict    `json:"sws,omitempty"`
	AuthContext map[string]any `json:"authContext,omitempty"`
	// Error is what went wrong, as the access log says it; Details the
	// validator's findings.
	Error   string `json:"error,omitempty"`
	Details any    `json:"details,omitempty"`
	// Phases is the time spent in each stage of the gateway, in order.
	Phases   []Phase   `json:"phases"`
	Upstream *Upstream `json:"upstream,omitempty"`

	// secrets are the values the masks hide, kept in memory only so that
	// a replay can send the request as it was; never shown nor served.
	// rawQuery is the query as it came, when Query masks part of it.
	secrets  http.Header
	rawQuery string
	// phaseBuf holds a kept record's phases (Phases is set on a copy).
	phaseBuf [8]Phase
	nPhases  int
}

// Summary is an exchange's row in the live list.
type Summary struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Query       string    `json:"query,omitempty"`
	Route       string    `json:"route,omitempty"`
	Integration string    `json:"integration,omitempty"`
	Status      int       `json:"status"`
	DurationMS  float64   `json:"durationMs"`
	Bytes       int64     `json:"bytes"`
	ReplayOf    int64     `json:"replayOf,omitempty"`
}

// Summary is e's row.
func (e *Exchange) Summary() Summary {
	return Summary{ID: e.ID, Time: e.Time, Method: e.Method, Path: e.Path, Query: e.Query, Route: e.Route,
		Integration: e.Integration, Status: e.Status, DurationMS: e.DurationMS, Bytes: e.Bytes, ReplayOf: e.ReplayOf}
}

// Secrets are what the serving spec says are credentials, besides the
// headers every record masks (Authorization, Cookie, ...): the names of
// its apiKey schemes and the identity sources of its JWT authorizers.
// Built with the snapshot; nil is none.
type Secrets struct {
	Headers map[string]bool   // canonical header names
	Query   map[string]bool   // query parameter names
	Params  map[string]string // declared parameters, by name: where they are ("header", "query", "cookie")
}

// masks is the recorder's rules with a spec's secrets.
type masks struct {
	r *Recorder
	s *Secrets
}

func (r *Recorder) with(s *Secrets) masks { return masks{r, s} }

func (m masks) header(k string) bool {
	if m.r.opts.ShowSecrets {
		return false
	}
	return m.r.secret(k) || m.s != nil && m.s.Headers[http.CanonicalHeaderKey(k)]
}

func (m masks) query(name string) bool {
	return !m.r.opts.ShowSecrets && m.s != nil && m.s.Query[name]
}

// param reports whether a declared parameter's value is a credential: a
// cookie's (the Cookie header is masked), a secret header's, a secret
// query parameter's.
func (m masks) param(name string) bool {
	if m.r.opts.ShowSecrets || m.s == nil {
		return false
	}
	switch m.s.Params[name] {
	case "cookie":
		return true
	case "header":
		return m.header(name)
	case "query":
		return m.query(name)
	}
	return false
}

// KeepSecrets remembers the values that the masks of h and of the query
// hide, for a replay, and returns the query as the record shows it.
func (r *Recorder) KeepSecrets(e *Exchange, h http.Header, rawQuery string, s *Secrets) string {
	m := r.with(s)
	for k, vs := range h {
		if m.header(k) {
			if e.secrets == nil {
				e.secrets = http.Header{}
			}
			e.secrets[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
	shown := m.maskQuery(rawQuery)
	if shown != rawQuery {
		e.rawQuery = rawQuery
	}
	return shown
}

// MaskTarget masks the secret query parameters of a backend call's
// target ("POST http://host/path?query"): the http integration may
// forward the client's query, apiKey and all.
func (r *Recorder) MaskTarget(target string, s *Secrets) string {
	head, q, ok := strings.Cut(target, "?")
	if !ok {
		return target
	}
	return head + "?" + r.with(s).maskQuery(q)
}

// maskQuery masks the values of secret parameters in a raw query,
// keeping the rest as it was written.
func (m masks) maskQuery(raw string) string {
	if raw == "" || m.s == nil || len(m.s.Query) == 0 || m.r.opts.ShowSecrets {
		return raw
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err == nil && m.query(name) {
			parts[i], changed = k+"="+url.QueryEscape(Masked), true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// Message is a request's or a response's headers and body.
type Message struct {
	Headers http.Header `json:"headers"`
	Body    Body        `json:"body"`
}

// Body is a captured body: its text (UTF-8), or the head of a binary one
// in hex; Size is the whole size, Truncated when more than the cap was sent.
type Body struct {
	Size      int64  `json:"size"`
	Text      string `json:"text,omitempty"`
	HexHead   string `json:"hexHead,omitempty"`
	JSON      bool   `json:"json,omitempty"`
	Binary    bool   `json:"binary,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// SWSVerdict is what a security profile in the cloud's shape decided.
type SWSVerdict struct {
	Action     string   `json:"action"`
	Rule       string   `json:"rule,omitempty"`
	DryRuns    []string `json:"dryRuns,omitempty"`
	WafRules   []int    `json:"wafRules,omitempty"`
	ARLRule    string   `json:"arlRule,omitempty"`
	ARLDryRuns []string `json:"arlDryRuns,omitempty"`
}

// Phase is one stage's time.
type Phase struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
}

// Upstream is what went to the backend: a URL, or a function's event and
// its answer.
type Upstream struct {
	Kind   string `json:"kind"` // http, function, ...
	Target string `json:"target"`
	Event  *Body  `json:"event,omitempty"`
	Answer *Body  `json:"answer,omitempty"`
}

// Options are the recorder's settings.
type Options struct {
	Entries     int      // the ring's size (default 500)
	MaxBody     int      // bytes kept of each body (default 64 KB)
	Redact      []string // headers masked besides the built-in ones
	ShowSecrets bool
}

// Recorder keeps the recent exchanges and tells subscribers of new ones.
type Recorder struct {
	opts   Options
	redact map[string]bool
	nextID atomic.Int64

	ring []slot // the record with ID n is at (n-1) % Entries; made with the recorder

	smu   sync.Mutex
	subs  map[chan Summary]struct{}
	nsubs atomic.Int64

	mmu  sync.Mutex
	msgs []WSMessage // WebSocket messages, oldest first
	mseq int64
}

// Masked by default: credentials a console must never keep.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Yacloud-Subjecttoken", "X-Apigw-Token"}

// NewRecorder makes a recorder.
func NewRecorder(o Options) *Recorder {
	if o.Entries <= 0 {
		o.Entries = 500
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 10
	}
	r := &Recorder{opts: o, redact: map[string]bool{}, subs: map[chan Summary]struct{}{}, ring: make([]slot, o.Entries)}
	for _, h := range append(append([]string{}, secretHeaders...), o.Redact...) {
		r.redact[http.CanonicalHeaderKey(h)] = true
	}
	return r
}

// MaxBody is the body cap.
func (r *Recorder) MaxBody() int { return r.opts.MaxBody }

// View is h as the console may keep it: h itself when it holds no secret
// and fits MaxHeaders (the caller promises nobody writes to h any more),
// else a masked or cut copy.
func (r *Recorder) View(h http.Header, s *Secrets) http.Header {
	m := r.with(s)
	size, secret := 0, false
	for k, vs := range h {
		secret = secret || m.header(k)
		size += len(k)
		for _, v := range vs {
			size += len(v)
		}
	}
	switch {
	case size > MaxHeaders:
		return clipHeaders(r.Mask(h, s))
	case secret:
		return r.Mask(h, s)
	}
	return h
}

// MaxHeaders bounds the header bytes a record keeps of a request or an
// answer: the API listener reads 64 KB of request headers, but a
// backend's or a function's answer may carry more.
const MaxHeaders = 64 << 10

// CutHeader, in a kept header map, says that headers were left out.
const CutHeader = "X-Apigw-Console-Cut"

// clipHeaders keeps h's headers, in name order, up to MaxHeaders bytes.
func clipHeaders(h http.Header) http.Header {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(http.Header, len(keys))
	left := MaxHeaders
	for _, k := range keys {
		for _, v := range h[k] {
			if len(k)+len(v) > left {
				out[CutHeader] = []string{"the headers past 64 KB are not kept"}
				return out
			}
			left -= len(k) + len(v)
			out[k] = append(out[k], v)
		}
	}
	return out
}

// Mask returns a copy of h with the secret headers' values masked (unless
// the console shows secrets). A bearer or basic value keeps its scheme.
func (r *Recorder) Mask(h http.Header, s *Secrets) http.Header {
	out := h.Clone() // one allocation for every value
	m := r.with(s)
	for k, vs := range out {
		if m.header(k) {
			for i, v := range vs {
				vs[i] = maskValue(v)
			}
		}
	}
	return out
}

// secret reports whether header k is masked. Keys are canonical as
// net/http stores them; another spelling is canonicalised first.
func (r *Recorder) secret(k string) bool {
	if s, ok := r.redact[k]; ok {
		return s
	}
	return r.redact[http.CanonicalHeaderKey(k)]
}

// Masked is how a secret shows.
const Masked = "•••• (masked)"

func maskValue(v string) string {
	if scheme, _, ok := strings.Cut(v, " "); ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Basic")) {
		return scheme + " " + Masked
	}
	return Masked
}

// MaskEvent masks the credentials inside a function event: the secret
// headers (headers, multiValueHeaders), the secret query parameters
// (queryStringParameters, multiValueQueryStringParameters, and the query
// of 0.1's url), and the declared parameters that carry one (params,
// multiValueParams, parameters, multiValueParameters), when the event is
// JSON of that shape. A function's answer (headers with Set-Cookie) takes
// the same.
func (r *Recorder) MaskEvent(event []byte, s *Secrets) []byte {
	if r.opts.ShowSecrets {
		return event
	}
	var ev map[string]any
	if json.Unmarshal(event, &ev) != nil {
		return event
	}
	m := r.with(s)
	changed := false
	mask := func(keys []string, secret func(string) bool) {
		for _, key := range keys {
			vs, ok := ev[key].(map[string]any)
			if !ok {
				continue
			}
			for k, v := range vs {
				if !secret(k) {
					continue
				}
				changed = true
				switch v := v.(type) {
				case string:
					vs[k] = maskValue(v)
				case []any:
					for i := range v {
						if s, ok := v[i].(string); ok {
							v[i] = maskValue(s)
						}
					}
				}
			}
		}
	}
	mask([]string{"headers", "multiValueHeaders"}, m.header)
	mask([]string{"queryStringParameters", "multiValueQueryStringParameters"}, m.query)
	mask([]string{"params", "multiValueParams", "parameters", "multiValueParameters"}, m.param)
	if u, ok := ev["url"].(string); ok {
		if path, q, found := strings.Cut(u, "?"); found {
			if masked := m.maskQuery(q); masked != q {
				ev["url"], changed = path+"?"+masked, true
			}
		}
	}
	if !changed {
		return event
	}
	// Written back as it came but for the masks: without HTML escaping
	// (a body's <, > and & stay as the function got them).
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(ev) != nil {
		return event
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// NewBody describes a captured body (data, at most the cap) of size bytes.
func (r *Recorder) NewBody(data []byte, size int64, contentType string) Body {
	b := Body{Size: size, Truncated: size > int64(len(data))}
	if len(data) == 0 {
		return b
	}
	text := data
	if b.Truncated {
		text = trimPartialRune(data)
	}
	if !utf8.Valid(text) || bytes.IndexByte(text, 0) >= 0 { // NUL: not text, whatever UTF-8 says
		n := min(len(data), 64)
		b.Binary, b.HexHead = true, hexDump(data[:n])
		return b
	}
	// JSON is pretty-printed when that fits the cap; json.Valid is asked
	// only of what looks like it (on other text it allocates an error).
	if !b.Truncated && (strings.Contains(contentType, "json") || looksJSON(text)) && json.Valid(text) {
		b.JSON = true
		if pretty, ok := indent(text, r.opts.MaxBody); ok {
			b.Text = pretty
			return b
		}
	}
	b.Text = string(text)
	return b
}

// indent pretty-prints valid JSON with two spaces, as json.Indent does,
// unless the result would be longer than limit (ok false). Indentation
// grows with depth, so a 20 KB body nested 10,000 deep is 100 MB pretty
// and a flat array of numbers 2.5 times its size: the cap is checked as
// the text grows, never after.
func indent(src []byte, limit int) (string, bool) {
	out := make([]byte, 0, min(limit, 2*len(src)))
	depth := 0
	inString, escaped := false, false
	newline := func() bool {
		if len(out)+1+2*depth > limit {
			return false
		}
		out = append(out, '\n')
		for range depth {
			out = append(out, ' ', ' ')
		}
		return true
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if isSpace(c) {
			continue
		}
		switch c {
		case '"':
			inString = true
			out = append(out, c)
		case '{', '[':
			out = append(out, c)
			j := i + 1
			for j < len(src) && isSpace(src[j]) {
				j++
			}
			if j < len(src) && (src[j] == '}' || src[j] == ']') { // empty: {} or []
				out = append(out, src[j])
				i = j
				continue
			}
			depth++
			if !newline() {
				return "", false
			}
		case '}', ']':
			depth--
			if !newline() {
				return "", false
			}
			out = append(out, c)
		case ',':
			out = append(out, c)
			if !newline() {
				return "", false
			}
		case ':':
			out = append(out, ':', ' ')
		default:
			out = append(out, c)
		}
		if len(out) > limit {
			return "", false
		}
	}
	return string(out), len(out) <= limit
}

// isSpace reports whether c is JSON's whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

func hexDump(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// slot is one place of the ring, with a lock of its own: recording takes
// no lock that other requests share.
type slot struct {
	mu sync.Mutex
	e  Exchange // ID 0: empty
}

// Add keeps a copy of e with its ID, in place of the one Entries older,
// and tells the subscribers; one that does not keep up misses it. The ring
// holds the records by value: keeping one allocates nothing.
func (r *Recorder) Add(e *Exchange) {
	id := r.nextID.Add(1)
	s := &r.ring[(id-1)%int64(len(r.ring))]
	s.mu.Lock()
	s.e = *e
	s.e.ID = id
	s.e.nPhases = copy(s.e.phaseBuf[:], e.Phases)
	s.e.Phases = nil // a read copy points it at its own phaseBuf
	var row Summary
	if r.nsubs.Load() > 0 {
		row = s.e.Summary()
	}
	s.mu.Unlock()
	e.ID = id
	if row.ID != 0 {
		r.smu.Lock()
		for ch := range r.subs {
			select {
			case ch <- row:
			default:
			}
		}
		r.smu.Unlock()
	}
}

// each calls f with a copy of every kept record, newest first, until f
// returns false.
func (r *Recorder) each(f func(e *Exchange) bool) {
	last := r.nextID.Load()
	n := int64(len(r.ring))
	for id := last; id > 0 && id > last-n; id-- {
		s := &r.ring[(id-1)%n]
		s.mu.Lock()
		if s.e.ID != id { // not written yet, or overwritten since
			s.mu.Unlock()
			continue
		}
		c := s.e
		s.mu.Unlock()
		c.Phases = c.phaseBuf[:c.nPhases]
		if !f(&c) {
			return
		}
	}
}

// List returns copies of the kept exchanges, newest first.
func (r *Recorder) List() []*Exchange {
	var out []*Exchange
	r.each(func(e *Exchange) bool { out = append(out, e); return true })
	return out
}

// Summaries returns the kept exchanges' rows, newest first.
func (r *Recorder) Summaries() []Summary {
	out := []Summary{}
	r.each(func(e *Exchange) bool { out = append(out, e.Summary()); return true })
	return out
}

// Get returns a copy of one kept exchange (nil: not kept).
func (r *Recorder) Get(id int64) *Exchange {
	if id <= 0 || id > r.nextID.Load() {
		return nil
	}
	s := &r.ring[(id-1)%int64(len(r.ring))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e.ID != id {
		return nil
	}
	c := s.e
	c.Phases = c.phaseBuf[:c.nPhases]
	return &c
}

// ByRequestID returns the ID of the newest kept exchange with that request
// ID (0: none).
func (r *Recorder) ByRequestID(rid string) int64 {
	var id int64
	r.each(func(e *Exchange) bool {
		if e.RequestID == rid {
			id = e.ID
			return false
		}
		return true
	})
	return id
}

// Clear forgets every kept exchange.
func (r *Recorder) Clear() {
	for i := range r.ring {
		s := &r.ring[i]
		s.mu.Lock()
		s.e = Exchange{}
		s.mu.Unlock()
	}
}

// Subscribe returns a channel of new exchanges' rows (buffered; a
// subscriber that falls behind misses some) and a function that ends it.
func (r *Recorder) Subscribe() (<-chan Summary, func()) {
	ch := make(chan Summary, 64)
	r.smu.Lock()
	r.subs[ch] = struct{}{}
	r.nsubs.Add(1)
	r.smu.Unlock()
	return ch, func() {
		r.smu.Lock()
		delete(r.subs, ch)
		r.nsubs.Add(-1)
		r.smu.Unlock()
	}
}

// Capture keeps the first bytes written to it, up to a cap, and counts
// them all.
type Capture struct {
	buf   []byte
	max   int
	total int64
}

// NewCapture makes a capture of at most max bytes.
func NewCapture(max int) *Capture { return &Capture{max: max} }

// Reset makes c an empty capture of at most max bytes.
func (c *Capture) Reset(max int) { c.buf, c.max, c.total = c.buf[:0], max, 0 }

func (c *Capture) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Bytes and Total are what was kept and how much was written.
func (c *Capture) Bytes() []byte { return c.buf }
func (c *Capture) Total() int64  { return c.total }

// TeeBody returns a body that copies what its reader reads into c.
func TeeBody(body io.ReadCloser, c *Capture) io.ReadCloser {
	return teeBody{Reader: io.TeeReader(body, c), Closer: body}
}

type teeBody struct {
	io.Reader
	io.Closer
}
