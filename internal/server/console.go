package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/contract"
	"github.com/apigw/apigw/internal/gateway"
	pvalidate "github.com/apigw/apigw/internal/policy/validate"
	"github.com/apigw/apigw/internal/websocket"
	"github.com/apigw/apigw/internal/yamlx"
)

// specState is what the console's spec view shows: when the spec last
// loaded, and the errors of the last reload that failed (cleared by the
// next one that succeeds).
type specState struct {
	mu         sync.Mutex
	loadedAt   time.Time
	failedAt   time.Time
	failReason string
	errors     []specError
}

type specError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"` // FILE:LINE:COL: path: message
}

func (st *specState) loaded() {
	st.mu.Lock()
	st.loadedAt, st.failedAt, st.failReason, st.errors = time.Now(), time.Time{}, "", nil
	st.mu.Unlock()
}

func (st *specState) failed(reason string, errs yamlx.List) {
	out := make([]specError, 0, len(errs))
	for _, e := range errs {
		out = append(out, specError{File: e.File, Line: e.Line, Col: e.Col, Path: e.Path, Message: e.Msg, Text: e.Error()})
	}
	st.mu.Lock()
	st.failedAt, st.failReason, st.errors = time.Now(), reason, out
	st.mu.Unlock()
}

// startConsole installs the console's recorder and returns its handler, or
// nil when the console is off. A console on an address others can reach
// must have a token.
func (s *Server) startConsole(b *config.Bindings) (*console.Server, error) {
	c := b.Console
	if !c.On(b.Admin) {
		return nil, nil
	}
	if c.Token == "" && b.WebSocket.ManagementToken == "" && !config.LoopbackOnly(b.Admin) {
		return nil, fmt.Errorf("console.enabled: a console on an admin listener others can reach (%s) needs console.token (or websocket.management_token)", b.Admin)
	}
	rec := console.NewRecorder(console.Options{Entries: c.Entries, MaxBody: int(c.MaxBody), Redact: c.RedactHeaders, ShowSecrets: c.ShowSecrets})
	s.handler.SetConsole(rec)
	s.handler.WebSockets().Observe(func(c *websocket.Conn, in bool, op websocket.Opcode, data []byte) {
		rec.AddMessage(c.ID, in, op == websocket.OpText, data)
	})
	// One rule for every power of the admin listener: console.token, else
	// the management token (which guards the connection API, pprof and
	// /metrics), as the serving bindings say.
	return &console.Server{Rec: rec, Source: consoleSource{s}, Token: func() string { return s.adminToken("/console/") }}, nil
}

// consoleSource is the server as the console sees it.
type consoleSource struct{ s *Server }

// consoleRoutes is the routes view: the serving snapshot's operations,
// and its canary's and each domain's.
type consoleRoutes struct {
	Spec    string               `json:"spec"`
	BuiltAt time.Time            `json:"builtAt"`
	Routes  []gateway.RouteInfo  `json:"routes"`
	Canary  *consoleCanary       `json:"canary,omitempty"`
	Domains []gateway.DomainInfo `json:"domains,omitempty"`
}

type consoleCanary struct {
	Weight int                 `json:"weight"`
	Routes []gateway.RouteInfo `json:"routes"`
}

func (c consoleSource) Routes() any {
	snap := c.s.handler.Snapshot()
	if snap == nil {
		return consoleRoutes{Spec: c.s.opts.SpecFile, Routes: []gateway.RouteInfo{}}
	}
	out := consoleRoutes{Spec: c.s.opts.SpecFile, BuiltAt: snap.BuiltAt, Routes: snap.Routes(), Domains: snap.DomainInfos()}
	if cs, w := snap.Canary(); cs != nil {
		out.Canary = &consoleCanary{Weight: w, Routes: cs.Routes()}
	}
	if out.Routes == nil {
		out.Routes = []gateway.RouteInfo{}
	}
	return out
}

func (c consoleSource) Spec() any {
	st := &c.s.spec
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]any{"file": c.s.opts.SpecFile, "config": c.s.opts.ConfigFile, "loadedAt": st.loadedAt, "errors": st.errors}
	if st.errors == nil {
		out["errors"] = []specError{}
	}
	if !st.failedAt.IsZero() {
		out["failedAt"], out["failReason"] = st.failedAt, st.failReason
	}
	return out
}

func (c consoleSource) APIBase() string {
	if b := c.s.apiBase.Load(); b != nil {
		return *b
	}
	return ""
}

func (c consoleSource) Functions() any { return c.s.deps.Functions.Processes(0) }

// Gateways is the control plane's gateways (null without one), with the
// operations of the one named.
func (c consoleSource) Gateways(ctx context.Context, id string) any {
	if c.s.plane == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.s.plane.Gateways(ctx, id)
}

// consoleConn is an open WebSocket connection as the console lists it.
type consoleConn struct {
	ID           string    `json:"id"`
	Path         string    `json:"path"`
	Replica      string    `json:"replica,omitempty"`
	SourceIP     string    `json:"sourceIp"`
	UserAgent    string    `json:"userAgent"`
	ConnectedAt  time.Time `json:"connectedAt"`
	LastActiveAt time.Time `json:"lastActiveAt"`
	websocket.Counts
}

func (c consoleSource) WebSockets() any {
	replica := ""
	if c.s.redisReg != nil {
		replica = c.s.redisReg.Replica()
	}
	conns := c.s.handler.WebSockets().Conns()
	out := make([]consoleConn, 0, len(conns))
	for _, k := range conns {
		out = append(out, consoleConn{ID: k.ID, Path: k.Path, Replica: replica, SourceIP: k.SourceIP, UserAgent: k.UserAgent,
			ConnectedAt: k.ConnectedAt, LastActiveAt: k.LastActive(), Counts: k.Counts()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConnectedAt.After(out[j].ConnectedAt) })
	return out
}

func (c consoleSource) WebSocketSend(ctx context.Context, id, text string) error {
	return c.s.connections.Registry.Send(ctx, id, websocket.OpText, []byte(text))
}

func (c consoleSource) WebSocketDisconnect(ctx context.Context, id string) error {
	return c.s.connections.Registry.Disconnect(ctx, id)
}

// tryDoc keeps kin-openapi's model of the last snapshot a Try planned
// from: loading it takes most of a Try's time on a large spec (0.6 s of
// 0.7 for 3,000 operations).
type tryDoc struct {
	mu   sync.Mutex
	snap *gateway.Snapshot
	t    *openapi3.T
}

// Example makes the console's Try request for an operation as `apigw test`
// makes its cases, from the serving snapshot's spec: seed 0 the first (the
// spec's example), each next seed the next case.
func (c consoleSource) Example(operation string, seed uint64) (*console.Example, error) {
	snap := c.s.handler.Snapshot()
	if snap == nil {
		return nil, errors.New("no spec is loaded yet")
	}
	d := &c.s.tryDoc
	d.mu.Lock() // kin-openapi's model is read by one Try at a time
	defer d.mu.Unlock()
	if d.snap != snap {
		t, err := pvalidate.Load(snap.Doc.Root)
		if err != nil {
			return nil, fmt.Errorf("the spec's schemas cannot be loaded: %w", err)
		}
		d.snap, d.t = snap, t
	}
	t := d.t
	// Only the named operation is planned: a click on a large spec does
	// not compile every other operation's checks.
	ops, err := contract.Plan(snap.Doc, t, func(o *contract.Operation) bool { return o.Matches(operation) })
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, console.ErrNoOperation
	}
	found := ops[0]
	// The n-th valid case of the same plan `apigw test` runs: the
	// example, the minimal and maximal values, then random ones.
	n := int(min(seed, 1000))
	var valid []contract.Case
	for _, k := range found.Cases(0, n+1) {
		if !k.Invalid {
			valid = append(valid, k)
		}
	}
	if len(valid) == 0 {
		return nil, errors.New("no request could be generated for " + found.Name())
	}
	k := valid[min(n, len(valid)-1)]
	body := string(k.Body)
	ex := &console.Example{Operation: found.Name(), Case: k.Name, Edit: console.Edit{Method: k.Method, Path: k.Path, Headers: k.Header, Body: &body}}
	if k.Cut {
		ex.Note = strings.TrimPrefix(contract.CutNote, "note: ")
	}
	return ex, nil
}
