package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/yamlx"
)

// InProcess is a gateway serving one snapshot on a free loopback port of
// this process, for `apigw test`: no admin listener, no reloads, no
// signals.
type InProcess struct {
	URL      string // http://127.0.0.1:<port>
	Snapshot *gateway.Snapshot
	srv      *http.Server
	deps     *integration.Deps
}

// StartInProcess loads the spec and bindings as serve does and serves
// them on 127.0.0.1. It returns every problem found; the gateway is nil
// when one is an error. log receives the gateway's own log (nil: none).
func StartInProcess(opts Options, log *slog.Logger) (*InProcess, yamlx.List) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deps := integration.NewDeps()
	deps.Functions.Log = log
	snap, errs := Load(opts, deps)
	if errs.Err() != nil {
		deps.Close()
		return nil, errs
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		deps.Close()
		errs.Errorf(nil, "", "listen on a free loopback port: %v", err)
		return nil, errs
	}
	h := gateway.NewHandler(log, gateway.NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	return &InProcess{URL: "http://" + ln.Addr().String(), Snapshot: snap, srv: srv, deps: deps}, errs
}

// Close stops serving and the function processes it started.
func (p *InProcess) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.srv.Shutdown(ctx)
	p.deps.Close()
}
