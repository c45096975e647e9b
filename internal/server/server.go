// Package server runs `apigw serve`: it loads and builds the first snapshot,
// serves the API and admin listeners, swaps in a new snapshot on SIGHUP or when
// the spec or bindings file changes, and drains in-flight requests on SIGTERM.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apigw/apigw/internal/adminguard"
	"github.com/apigw/apigw/internal/auth"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/conncap"
	"github.com/apigw/apigw/internal/connectionapi"
	"github.com/apigw/apigw/internal/console"
	"github.com/apigw/apigw/internal/controlplane"
	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/intercept"
	"github.com/apigw/apigw/internal/policy/ratelimit"
	"github.com/apigw/apigw/internal/redisx"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/tracing"
	"github.com/apigw/apigw/internal/websocket"
	"github.com/apigw/apigw/internal/yamlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are the command-line inputs of `apigw serve`. Non-empty flags
// override the bindings file.
type Options struct {
	SpecFile   string
	ConfigFile string
	Listen     string
	Admin      string
	Vars       map[string]string
	Version    string
	// SpecOnly (validate, routes): without a bindings file the spec is
	// checked alone; unbound function, container and node IDs are fine.
	SpecOnly bool
	// Mock answers every operation whose target is not bound from the
	// spec's declared responses (the bindings' mock: true).
	Mock bool
}

// Server is one running gateway process.
type Server struct {
	opts     Options
	log      *slog.Logger
	level    *slog.LevelVar
	handler  *gateway.Handler
	deps     *integration.Deps
	reloads  *prometheus.CounterVec
	registry *prometheus.Registry
	draining atomic.Bool
	hashes   [32]byte
	// wsRegistry answers the WebSocket management API: the handler's own
	// hub, or a Redis registry shared by replicas.
	wsRegistry websocket.Registry
	redisReg   *websocket.RedisRegistry
	// connections is the connection management API (REST and gRPC).
	connections *connectionapi.API
	// intercept routes local functions' calls to the cloud's connection
	// API here; made on first use (see cloudAPI).
	interceptOnce sync.Once
	intercept     atomic.Pointer[intercept.Intercept]
	interceptErr  error
	// console is the developer console (nil: off); spec is what its spec
	// view shows; apiBase is where replays go.
	console *console.Server
	spec    specState
	// tryDoc is the serving spec as kin-openapi reads it, for the
	// console's Try (loaded on the first Try after each reload).
	tryDoc  tryDoc
	apiBase atomic.Pointer[string]
	// bindings are those read at start: the admin listener's rules until
	// a snapshot serves (then the snapshot's).
	bindings *config.Bindings
	// plane is the control plane (nil: none).
	plane *controlplane.Plane
}

// Load reads the bindings and the spec with the command-line overrides applied
// and builds a snapshot. It is shared by serve, validate and routes.
func Load(opts Options, deps *integration.Deps) (snap *gateway.Snapshot, errs yamlx.List) {
	// A bug that panics in a build must not take the serving snapshot
	// with it: the reload fails, with the panic as its error.
	defer func() {
		if p := recover(); p != nil {
			snap = nil
			errs.Errorf(nil, "", "apigw failed building this spec (a bug; please report it with the spec): %v", p)
		}
	}()
	b, errs := loadBindings(opts)
	if errs.Err() != nil {
		return nil, errs
	}
	snap, e := build(opts, b, deps)
	return snap, append(errs, e...)
}

// loadBindings reads the bindings file with the listener flags applied.
func loadBindings(opts Options) (*config.Bindings, yamlx.List) {
	b, errs := config.LoadFile(opts.ConfigFile)
	if errs.Err() != nil {
		return nil, errs
	}
	if opts.Listen != "" {
		b.Listen = opts.Listen
	}
	if opts.Admin != "" {
		b.Admin = opts.Admin
	}
	b.SpecOnly = opts.SpecOnly && opts.ConfigFile == ""
	if opts.Mock {
		b.Mock = true
	}
	return b, errs
}

// build builds the snapshot of --spec and, when domains are bound, of
// each domain's spec (a spec shared by several domains is built once), with
// the domains' certificates.
func build(opts Options, b *config.Bindings, deps *integration.Deps) (*gateway.Snapshot, yamlx.List) {
	snap, errs := buildSpec(opts, b, deps)
	if snap != nil && opts.SpecFile == "" && len(b.Domains) == 0 && b.TLS.Cert == "" {
		// Only the control plane's gateways serve: other hosts get 404.
		snap.SetDomains(nil, false, nil, "")
	}
	if a := b.AdminTLS; a.Cert != "" {
		// The admin listener reads them at start; checked here too, so
		// that validate finds a missing or broken pair.
		if _, err := tls.LoadX509KeyPair(a.Cert, a.Key); err != nil {
			errs.Add(&yamlx.Error{File: b.File, Path: "admin_tls.cert", Msg: err.Error()})
			return nil, errs
		}
	}
	if len(b.Domains) == 0 && b.TLS.Cert == "" {
		return snap, errs
	}
	main, _ := filepath.Abs(opts.SpecFile)
	specs := map[string]*gateway.Snapshot{main: snap}
	var domains []gateway.Domain
	for i, d := range b.Domains {
		if d == nil {
			continue
		}
		ds := snap
		if d.Spec != "" {
			file, _ := filepath.Abs(d.Spec)
			var ok bool
			if ds, ok = specs[file]; !ok {
				o := opts
				o.SpecFile = d.Spec
				var e yamlx.List
				ds, e = buildSpec(o, b, deps)
				errs = append(errs, e...)
				specs[file] = ds
			}
		}
		dom := gateway.Domain{Hosts: d.Hosts, Snap: ds}
		if d.Cert != "" {
			c, err := tls.LoadX509KeyPair(d.Cert, d.Key)
			if err != nil {
				e := &yamlx.Error{File: b.File, Path: fmt.Sprintf("domains[%d].cert", i), Msg: err.Error()}
				if d.Node != nil {
					e.Line, e.Col = d.Node.Line, d.Node.Column
				}
				errs.Add(e)
			}
			dom.Cert = &c
		}
		domains = append(domains, dom)
	}
	var defCert *tls.Certificate
	if b.TLS.Cert != "" {
		c, err := tls.LoadX509KeyPair(b.TLS.Cert, b.TLS.Key)
		if err != nil {
			errs.Add(&yamlx.Error{File: b.File, Path: "tls.cert", Msg: err.Error()})
		}
		defCert = &c
	}
	var httpsPort string
	if b.TLS.RedirectHTTP {
		_, httpsPort, _ = net.SplitHostPort(b.TLS.Listen)
	}
	if errs.Err() != nil {
		return nil, errs
	}
	snap.SetDomains(domains, len(b.Domains) == 0 || b.Routing.UnknownHost == "default", defCert, httpsPort)
	return snap, errs
}

// build loads the spec with the variable values of b and --var, and builds a
// snapshot.
func buildSpec(opts Options, b *config.Bindings, deps *integration.Deps) (*gateway.Snapshot, yamlx.List) {
	vars := b.VariableValues()
	maps.Copy(vars, opts.Vars)
	var doc *spec.Document
	var errs yamlx.List
	if opts.SpecFile == "" { // a control plane without --spec
		doc, errs = spec.Load("", []byte(emptySpec), vars)
	} else {
		doc, errs = spec.LoadFile(opts.SpecFile, vars)
	}
	if doc == nil {
		return nil, errs
	}
	// A partial document is still built, so that one run reports the
	// integrations' problems as well as the spec's; it never serves.
	snap, e := gateway.Build(doc, b, deps)
	errs = append(errs, e...)
	if c := b.Canary; c != nil && doc != nil && opts.SpecFile != "" {
		// The canary is the same spec with the canary's values over the
		// stable ones; its own problems are reported as the canary's.
		cvars := maps.Clone(vars)
		maps.Copy(cvars, c.CanaryValues())
		cdoc, ce := spec.LoadFile(opts.SpecFile, cvars)
		var csnap *gateway.Snapshot
		if cdoc != nil {
			var be yamlx.List
			csnap, be = gateway.Build(cdoc, b, deps)
			ce = append(ce, be...)
		}
		seen := map[string]bool{}
		for _, err := range errs {
			seen[err.Error()] = true
		}
		for _, err := range ce {
			if !seen[err.Error()] { // what both releases share is reported once
				err.Msg = "canary release: " + err.Msg
				if err.Line == 0 && strings.HasPrefix(err.Path, "variables.") {
					err.File, err.Path = b.File, "canary."+err.Path // a value the canary gives
				}
				errs = append(errs, err)
			}
		}
		if len(doc.Variables) == 0 {
			errs.Errorf(nil, "canary", "a canary needs a spec with x-yc-apigateway.variables: it is the same spec with other variable values")
		}
		if snap != nil && csnap != nil {
			snap.SetCanary(csnap, c.Weight, c.Override)
		}
	}
	errs = errs.Dedup()
	errs.Sort()
	if errs.Err() != nil {
		return nil, errs
	}
	return snap, errs
}

// New prepares a server; Run starts it.
func New(opts Options) *Server {
	level := new(slog.LevelVar)
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "apigw_build_info", Help: "The running apigw version."}, []string{"version"})
	build.WithLabelValues(opts.Version).Set(1)
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apigw_reloads_total", Help: "Snapshot reloads, by result (ok or error).",
	}, []string{"result"})
	reg.MustRegister(build, reloads, auth.CacheLookups, conncap.Refused, connectionapi.Calls, controlplane.Calls)
	reg.MustRegister(websocket.Collectors()...)
	deps := integration.NewDeps()
	deps.Functions.Log = log
	s := &Server{
		opts:     opts,
		log:      log,
		level:    level,
		handler:  gateway.NewHandler(log, gateway.NewMetrics(reg)),
		deps:     deps,
		reloads:  reloads,
		registry: reg,
	}
	// The process's own hub until Run picks a shared registry.
	s.connections = &connectionapi.API{Registry: s.handler.WebSockets(), Authorize: connectionapi.AdminAccess(s.managementToken)}
	return s
}

// Run serves until SIGTERM or SIGINT (or ctx ends), then drains. It returns
// an error when the first snapshot cannot be built or a listener fails.
func (s *Server) Run(ctx context.Context) error {
	b, errs := loadBindings(s.opts)
	if errs.Err() != nil {
		return errs.Errors()
	}
	if s.opts.SpecFile == "" && !b.ControlPlane.Enabled() {
		return errors.New("--spec is required (or a bindings file with control_plane)")
	}
	if b.Tracing.Endpoint != "" {
		tracer, stop, err := tracing.Setup(ctx, b.Tracing, s.opts.Version)
		if err != nil {
			return err
		}
		s.handler.SetTracer(tracer)
		defer func() { // flush the spans still buffered
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stop(fctx)
		}()
		s.log.Info("exporting traces", "endpoint", b.Tracing.Endpoint)
	}
	s.wsRegistry = s.handler.WebSockets()
	if b.Redis.Enabled() {
		r := b.Redis
		rdb, err := redisx.Dial(ctx, redisx.Config{URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName, SentinelPassword: r.SentinelPassword, Timeout: r.Timeout.D()})
		if err != nil {
			return err
		}
		defer rdb.Close()
		rdb.OnTrip(func() {
			s.log.Warn("redis does not answer: rate limits let requests through and WebSocket connections on other replicas are out of reach until it does")
		})
		rdb.OnRecover(func() { s.log.Info("redis answers again") })
		s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "apigw_redis_available", Help: "1 while Redis answers; 0 from the third failed call in a row until one succeeds.",
		}, func() float64 {
			if rdb.Answering() {
				return 1
			}
			return 0
		}))
		reg, err := websocket.NewRedisRegistry(ctx, rdb, b.Redis.Prefix, s.handler.WebSockets(), s.log)
		if err != nil {
			return err
		}
		defer reg.Close()
		s.wsRegistry, s.redisReg = reg, reg
		s.log.Info("WebSocket connections are shared through Redis", "replica", reg.Replica())
		s.deps.RateLimits = ratelimit.NewRedis(rdb, b.Redis.Prefix)
		s.log.Info("rate limits are shared through Redis")
	}
	if local, ok := s.deps.RateLimits.(*ratelimit.Local); ok {
		sweepCtx, stopSweep := context.WithCancel(ctx)
		defer stopSweep()
		go local.SweepEvery(sweepCtx, time.Second) // clients that went quiet leave no buckets
	}
	// The admin listener comes up first: /healthz answers while a large
	// spec builds, and /readyz says 503 until the first snapshot serves.
	adminLn, err := net.Listen("tcp", b.Admin)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", b.Admin, err)
	}
	s.bindings = b
	s.connections.Registry = s.wsRegistry // before the admin listener serves it
	s.deps.Functions.CloudAPI = s.cloudAPI
	if s.console, err = s.startConsole(b); err != nil {
		adminLn.Close()
		return err
	}
	admin := &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	admin.Protocols = new(http.Protocols)
	admin.Protocols.SetHTTP1(true)
	serveErr := make(chan error, 2)
	if b.AdminTLS.Enabled() {
		// HTTPS with HTTP/2, which the SDKs' gRPC clients need.
		cert, err := s.adminCertificate(b.AdminTLS)
		if err != nil {
			adminLn.Close()
			return fmt.Errorf("admin_tls: %w", err)
		}
		admin.Protocols.SetHTTP2(true)
		admin.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: connectionapi.MaxStreams}
		admin.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}}
		go func() { serveErr <- admin.ServeTLS(adminLn, "", "") }()
	} else {
		// HTTP/1.1 for net/http; prior-knowledge HTTP/2 (h2c), which gRPC
		// clients with plaintext credentials speak, for the connection
		// service on gRPC's own transport.
		http1, h2c := connectionapi.SplitH2C(adminLn)
		go func() { serveErr <- admin.Serve(http1) }()
		go s.connections.GRPC().Serve(h2c)
	}

	s.deps.Functions.NextGeneration()
	snap, errs := build(s.opts, b, s.deps)
	if snap == nil {
		admin.Close()
		return errs.Errors()
	}
	s.logWarnings(errs)
	s.applyLogLevel(snap.Bindings)
	if b.ControlPlane.Enabled() {
		stopPlane, err := s.startControlPlane(ctx, b)
		if err != nil {
			admin.Close()
			return err
		}
		defer stopPlane()
	}

	apiLn, err := net.Listen("tcp", b.Listen)
	if err != nil {
		admin.Close()
		return fmt.Errorf("listen %s: %w", b.Listen, err)
	}
	caps := s.connectionCaps(b)
	var open atomic.Int64 // the API listeners share one cap
	apiLn = conncap.NewListener(apiLn, caps.Connections, &open, true)
	api := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	var tlsSrv *http.Server
	if b.TLS.Listen != "" {
		tlsLn, err := net.Listen("tcp", b.TLS.Listen)
		if err != nil {
			admin.Close()
			apiLn.Close()
			return fmt.Errorf("tls listen %s: %w", b.TLS.Listen, err)
		}
		tlsLn = conncap.NewListener(tlsLn, caps.Connections, &open, false)
		tlsSrv = &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: api.ReadHeaderTimeout,
			IdleTimeout:       api.IdleTimeout,
			MaxHeaderBytes:    api.MaxHeaderBytes,
			ErrorLog:          api.ErrorLog,
			// The current snapshot's certificates: a reload that changes
			// a certificate file takes effect at the next handshake.
			TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if c, ok := s.handler.Fleet().Certificate(hello.ServerName); ok {
					return c, nil // a domain attached through the control plane
				}
				if snap := s.handler.Snapshot(); snap != nil {
					if c, ok := snap.Certificate(hello.ServerName); ok {
						return c, nil
					}
				}
				return nil, fmt.Errorf("no certificate for server name %q", hello.ServerName)
			}},
		}
		go func() { serveErr <- tlsSrv.ServeTLS(tlsLn, "", "") }() // HTTP/2 and HTTP/1.1
		s.log.Info("listening for HTTPS", "addr", tlsLn.Addr().String())
	}
	s.handler.Swap(snap)
	s.spec.loaded()
	s.hashes = s.fileHashes()
	s.deps.Functions.Settle()
	// Replays go to the API listener; one on every address is reached on
	// loopback.
	host, port, _ := net.SplitHostPort(apiLn.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, port)
	s.apiBase.Store(&base)
	go func() { serveErr <- api.Serve(apiLn) }()
	s.log.Info("listening", "addr", apiLn.Addr().String(), "admin", adminLn.Addr().String(),
		"spec", s.opts.SpecFile, "config", s.opts.ConfigFile, "routes", len(snap.Routes()))

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var tick <-chan time.Time
	if *b.Reload.Watch {
		t := time.NewTicker(b.Reload.Interval.D())
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				s.reload("SIGHUP")
				continue
			}
			delay := time.Duration(0)
			if sig == syscall.SIGTERM {
				delay = s.handler.Snapshot().Bindings.Limits.DrainDelay.D()
			}
			return s.shutdown(api, tlsSrv, admin, sig.String(), delay, sigs)
		case <-tick:
			if h := s.fileHashes(); h != s.hashes {
				s.hashes = h
				s.reload("file changed")
			}
		case err := <-serveErr:
			if errors.Is(err, http.ErrServerClosed) {
				continue
			}
			return err
		case <-ctx.Done():
			return s.shutdown(api, tlsSrv, admin, "context done", 0, nil)
		}
	}
}

// reload builds a new snapshot and swaps it in; in-flight requests finish on
// the old one. A spec that fails to build is logged with every error and the
// old snapshot keeps serving.
func (s *Server) reload(reason string) {
	start := time.Now()
	s.deps.Functions.NextGeneration()
	snap, errs := Load(s.opts, s.deps)
	if snap == nil {
		s.reloads.WithLabelValues("error").Inc()
		msgs := make([]string, 0, len(errs))
		for _, e := range errs.Errors() {
			msgs = append(msgs, e.Error())
		}
		s.log.Error("reload failed; the previous snapshot keeps serving", "reason", reason, "errors", msgs)
		s.spec.failed(reason, errs.Errors())
		return
	}
	s.logWarnings(errs)
	old := s.handler.Swap(snap)
	s.spec.loaded()
	s.hashes = s.fileHashes() // the new bindings may watch other files
	if s.plane != nil {
		// The created gateways are built with the bindings too (and mark
		// the function processes they use before Settle stops the rest).
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.plane.Sync(ctx, true); err != nil {
			s.log.Warn("control plane: the created gateways keep their snapshots: the state store does not answer", "error", err.Error())
		}
		cancel()
	}
	s.deps.Functions.Settle()
	if old != nil && (old.Bindings.Listen != snap.Bindings.Listen || old.Bindings.Admin != snap.Bindings.Admin) {
		s.log.Warn("listen addresses changed in the bindings; they take effect on restart")
	}
	s.applyLogLevel(snap.Bindings)
	s.reloads.WithLabelValues("ok").Inc()
	s.log.Info("reloaded", "reason", reason, "routes", len(snap.Routes()), "build_ms", time.Since(start).Milliseconds())
}

// shutdown stops serving: /readyz turns 503 at once; for delay the
// listeners keep accepting and every answer says Connection: close (a load
// balancer has that long to stop sending, and keep-alive clients move
// away); then in-flight requests drain. Another signal ends the delay.
func (s *Server) shutdown(api, tlsSrv, admin *http.Server, why string, delay time.Duration, sigs <-chan os.Signal) error {
	s.draining.Store(true)
	s.handler.SetDraining()
	if delay > 0 {
		s.log.Info("shutting down: still accepting while the balancer lets go", "signal", why, "drain_delay", delay.String())
		select {
		case <-time.After(delay):
		case <-sigs:
		}
	}
	timeout := s.handler.Snapshot().Bindings.Limits.ShutdownTimeout.D()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Hijacked WebSocket connections are not drained by Shutdown: close
	// them with 1001 and let their disconnect calls run.
	go s.handler.CloseWebSockets(timeout)
	servers := []*http.Server{api}
	if tlsSrv != nil {
		servers = append(servers, tlsSrv)
	}
	// Every listener stops accepting at once (Shutdown closes its
	// listeners, then runs the OnShutdown hooks); the log line says so
	// only once they all have.
	closed := make(chan struct{}, len(servers))
	var drained sync.WaitGroup
	for _, srv := range servers {
		srv.RegisterOnShutdown(func() { closed <- struct{}{} })
		drained.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				s.log.Warn("drain deadline passed; closing the remaining connections", "error", err.Error())
				srv.Close()
			}
		})
	}
	for range servers {
		<-closed
	}
	s.log.Info("shutting down: draining in-flight requests", "signal", why, "timeout", timeout.String())
	drained.Wait()
	s.handler.CloseWebSockets(time.Second) // waits for the disconnect calls started above
	admin.Close()
	s.connections.GRPC().Stop()
	s.deps.Close()
	if i := s.intercept.Load(); i != nil {
		i.Close()
	}
	s.log.Info("stopped")
	return nil
}

// connectionCaps raises the open-file limit to its hard limit and sets the
// caps: the bindings' where given, else derived from that limit.
func (s *Server) connectionCaps(b *config.Bindings) conncap.Limits {
	files := raiseFileLimit()
	caps := conncap.Defaults(files)
	if n := b.Limits.MaxConnections; n > 0 {
		caps = conncap.ForConnections(n)
	}
	if n := b.WebSocket.MaxConnections; n > 0 {
		caps.WebSockets = n
	}
	if n := b.WebSocket.MaxConnectionsPerIP; n > 0 {
		caps.WebSocketsPerIP = n
	}
	s.handler.SetWebSocketCaps(caps.WebSockets, caps.WebSocketsPerIP)
	s.log.Info("connection caps", "open_files", files, "connections", caps.Connections,
		"websockets", caps.WebSockets, "websockets_per_ip", caps.WebSocketsPerIP)
	return caps
}

func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case s.draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"draining"}` + "\n"))
		case s.handler.Snapshot() == nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"no snapshot"}` + "\n"))
		default:
			w.Write([]byte(`{"status":"ready"}` + "\n"))
		}
	})
	mux.Handle("GET /metrics", s.guarded(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	if s.console != nil {
		mux.Handle("/console/", s.console)
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	// The WebSocket connection management API (digest §6.5), REST and
	// gRPC on one port, as the cloud serves both on one host.
	mux.Handle(connectionapi.RESTPrefix, s.connections) // gRPC: see below
	// Profiling for operators; the admin listener is private (loopback by
	// default). No /debug/pprof/cmdline: --var values may be secrets.
	mux.Handle("/debug/pprof/", s.guarded(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", s.guarded(http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", s.guarded(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", s.guarded(http.HandlerFunc(pprof.Trace)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminguard.Headers(w.Header())
		if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" { // probes come by any name
			var hosts []string
			if b := s.currentBindings(); b != nil {
				hosts = b.AdminHosts
			}
			if no := adminguard.Check(r, s.adminToken(r.URL.Path) != "", hosts); no != nil {
				httperr.Write(w, no.Status, no.Message)
				return
			}
		}
		if connectionapi.IsGRPC(r) {
			// Every gRPC call is the API's: an unknown service or method
			// gets gRPC's own UNIMPLEMENTED, not an HTTP 404.
			s.connections.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// currentBindings are the serving snapshot's bindings, else those read
// at start (nil before Run).
func (s *Server) currentBindings() *config.Bindings {
	if snap := s.handler.Snapshot(); snap != nil {
		return snap.Bindings
	}
	return s.bindings
}

// adminToken is the token that guards an admin path ("": none): one rule
// for every power of the listener. The management token guards them all,
// but where console.token is set it guards the console instead, and
// metrics_token /metrics.
func (s *Server) adminToken(path string) string {
	b := s.currentBindings()
	if b == nil {
		return ""
	}
	switch {
	case path == "/metrics" && b.MetricsToken != "":
		return b.MetricsToken
	case (path == "/console" || strings.HasPrefix(path, "/console/")) && b.Console.Token != "":
		return b.Console.Token
	}
	return b.WebSocket.ManagementToken
}

// adminCertificate is admin_tls's certificate: the bindings' files, or one
// the local CA issues for the loopback names.
func (s *Server) adminCertificate(a config.AdminTLS) (*tls.Certificate, error) {
	if !a.LocalCA {
		c, err := tls.LoadX509KeyPair(a.Cert, a.Key)
		return &c, err
	}
	dir, err := intercept.DefaultDir()
	if err != nil {
		return nil, err
	}
	ca, err := intercept.LoadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	if ca.Replaced != "" {
		s.log.Warn("the local CA found was not trusted; apigw made a new one (clients that trusted the old file must take the new one)", "why", ca.Replaced, "ca", ca.CertFile)
	}
	s.log.Info("the admin listener serves HTTPS with a certificate from the local CA; clients trust it through its file",
		"ca", ca.CertFile, "names", "localhost, 127.0.0.1, ::1")
	return ca.Issue("localhost", "127.0.0.1", "::1")
}

// cloudAPI starts the intercept of the cloud's connection API on first use
// (a gateway without local functions never makes a CA). When it cannot
// start, function processes run without it, and the log says why.
func (s *Server) cloudAPI() (functions.CloudAPI, error) {
	s.interceptOnce.Do(func() {
		dir, err := intercept.DefaultDir()
		var i *intercept.Intercept
		if err == nil {
			api := &connectionapi.API{Registry: s.wsRegistry, Via: "intercept", Authorize: connectionapi.BearerAccess(s.acceptsFunctionToken)}
			i, err = intercept.New(dir, api, s.log)
		}
		if err != nil {
			s.interceptErr = err
			s.log.Warn("function processes run without the intercept: their calls to the cloud's connection API will not reach this gateway", "error", err.Error())
			return
		}
		s.intercept.Store(i)
		s.log.Info("function processes reach this gateway's connection API at the cloud's address",
			"host", intercept.Host, "proxy", i.Proxy.Addr(), "ca", i.CA.CertFile)
	})
	if s.interceptErr != nil {
		return nil, s.interceptErr
	}
	return s.intercept.Load(), nil
}

// acceptsFunctionToken is the rule of the intercepted API: the token that
// apigw gives its function processes, a token a binding gives its handler
// (functions.*.token), or the management token.
func (s *Server) acceptsFunctionToken(tok string) bool {
	is := func(want string) bool {
		return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(tok)) == 1
	}
	if i := s.intercept.Load(); i != nil && is(i.Token()) {
		return true
	}
	snap := s.handler.Snapshot()
	if snap == nil {
		return false
	}
	if is(snap.Bindings.WebSocket.ManagementToken) {
		return true
	}
	for _, f := range snap.Bindings.Functions {
		if f != nil && is(f.Token) {
			return true
		}
	}
	return false
}

// managementToken is the current bindings' websocket.management_token:
// the connection API's token, as adminToken says for its paths.
func (s *Server) managementToken() string { return s.adminToken(connectionapi.RESTPrefix) }

// guarded asks for the path's bearer token (adminToken) when the
// bindings set one.
func (s *Server) guarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token := s.adminToken(r.URL.Path); token != "" && !headers.HasBearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="apigw admin"`)
			httperr.Write(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) logWarnings(errs yamlx.List) {
	for _, w := range errs.Warnings() {
		s.log.Warn(w.Msg, "at", w.Error())
	}
}

func (s *Server) applyLogLevel(b *config.Bindings) {
	lv := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	s.level.Set(lv[b.Log.Level])
}

// fileHashes digests every file whose change reloads the gateway: the
// spec, the bindings, and the domains' specs and certificates.
func (s *Server) fileHashes() [32]byte {
	files := []string{s.opts.SpecFile, s.opts.ConfigFile}
	if snap := s.handler.Snapshot(); snap != nil {
		files = append(files, snap.Bindings.WatchedFiles()...)
	}
	h := sha256.New()
	for _, f := range files {
		if f == "" {
			continue
		}
		b, _ := os.ReadFile(f)
		sum := sha256.Sum256(b)
		h.Write([]byte(f))
		h.Write(sum[:])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
