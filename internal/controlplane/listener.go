package controlplane

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/adminguard"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/connectionapi"
	"github.com/apigw/apigw/internal/intercept"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/endpoint"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// access is the control plane's one rule: a bearer token on every call
// but discovery and the token exchange; any token when open (a loopback
// listener), else one of control_plane.tokens, compared in constant time.
type access struct {
	open   bool
	tokens [][]byte
}

func (a *access) accepts(tok string) bool {
	ok := 0
	for _, t := range a.tokens {
		ok |= subtle.ConstantTimeCompare(t, []byte(tok))
	}
	return ok == 1
}

// check applies the rule to an Authorization value.
func (a *access) check(authorization string) error {
	tok := bearer(authorization)
	switch {
	case tok == "":
		return status.Error(codes.Unauthenticated, "an Authorization: Bearer <token> header is required (the SDKs send their IAM token)")
	case a.open, a.accepts(tok):
		return nil
	}
	return status.Error(codes.Unauthenticated, "the token is not accepted")
}

// public are the calls made before a client has a token.
func public(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/yandex.cloud.endpoint.ApiEndpointService/") ||
		fullMethod == "/yandex.cloud.iam.v1.IamTokenService/Create"
}

// Calls counts the control plane's calls by form (grpc, rest), method
// (Service.Method) and gRPC status code.
var Calls = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "apigw_control_plane_calls_total",
	Help: "Control plane calls, by form (grpc, rest), method (Service.Method) and gRPC status code.",
}, []string{"form", "method", "code"})

// shortMethod is "ApiGatewayService.Create" of "/yandex.cloud.serverless.apigateway.v1.ApiGatewayService/Create".
func shortMethod(full string) string {
	full = strings.TrimPrefix(full, "/")
	svc, m, _ := strings.Cut(full, "/")
	if i := strings.LastIndexByte(svc, '.'); i >= 0 {
		svc = svc[i+1:]
	}
	return svc + "." + m
}

// MaxMessage bounds a call's message: a spec at the 3.5 MB limit with the
// rest of a request fits; a larger one gets RESOURCE_EXHAUSTED from gRPC.
const MaxMessage = 4 << 20

// Listener serves the control plane: gRPC and REST on one address, TLS
// unless plaintext.
type Listener struct {
	plane   *Plane
	rpc     *grpc.Server
	rest    *rest
	conns   http.Handler
	access  *access
	srv     *http.Server
	ln      net.Listener
	CAFile  string // the CA clients trust ("" with an own certificate or plaintext)
	Address string
}

// Listen opens the control plane's listener. connections is the
// WebSocket connection API, served here too as the cloud serves it.
func Listen(p *Plane, cfg config.ControlPlane, connections http.Handler, log *slog.Logger) (*Listener, error) {
	host, _, _ := net.SplitHostPort(cfg.Listen)
	a := &access{open: config.IsLoopbackHost(host)}
	for _, t := range cfg.Tokens {
		a.tokens = append(a.tokens, []byte(t))
	}
	if len(a.tokens) > 0 {
		a.open = false // tokens set: they are the rule, on loopback too
	}
	l := &Listener{plane: p, conns: connections, access: a}
	l.rpc = grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxConcurrentStreams(100),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if !public(info.FullMethod) {
				var authz string
				if md, ok := metadata.FromIncomingContext(ctx); ok {
					if v := md.Get("authorization"); len(v) > 0 {
						authz = v[0]
					}
				}
				if err := a.check(authz); err != nil {
					Calls.WithLabelValues("grpc", shortMethod(info.FullMethod), status.Code(err).String()).Inc()
					return nil, err
				}
			}
			resp, err := h(ctx, req)
			Calls.WithLabelValues("grpc", shortMethod(info.FullMethod), status.Code(err).String()).Inc()
			return resp, err
		}))
	gws := gateways{p: p}
	ops := operations{p: p}
	eps := endpoints{addr: cfg.Listen}
	toks := tokens{a: a}
	apigateway.RegisterApiGatewayServiceServer(l.rpc, gws)
	operation.RegisterOperationServiceServer(l.rpc, ops)
	endpoint.RegisterApiEndpointServiceServer(l.rpc, eps)
	iam.RegisterIamTokenServiceServer(l.rpc, toks)
	l.rest = newREST(gws, ops, eps, toks, a)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("control_plane.listen %s: %w", cfg.Listen, err)
	}
	l.ln, l.Address = ln, ln.Addr().String()
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 100, MaxReceiveBufferPerStream: 1 << 20}}
	l.srv.Protocols = new(http.Protocols)
	l.srv.Protocols.SetHTTP1(true)
	if cfg.Plaintext {
		l.srv.Protocols.SetUnencryptedHTTP2(true) // gRPC with plaintext credentials speaks h2c
		return l, nil
	}
	l.srv.Protocols.SetHTTP2(true)
	var cert *tls.Certificate
	if cfg.Cert != "" {
		c, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("control_plane.cert: %w", err)
		}
		cert = &c
	} else {
		ca, err := intercept.LoadOrCreateScoped(cfg.StateDir, CAScope)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("control plane CA: %w", err)
		}
		if ca.Replaced != "" {
			log.Warn("control plane: the CA found was not trusted; apigw made a new one (clients must trust the new file)", "why", ca.Replaced, "ca", ca.CertFile)
		}
		if cert, err = ca.Issue("localhost", "127.0.0.1", "::1"); err != nil {
			ln.Close()
			return nil, err
		}
		l.CAFile = ca.CertFile
		if !a.open && !config.IsLoopbackHost(host) {
			log.Warn("control plane: the local CA's certificate names only loopback addresses; remote clients need control_plane.cert and key", "listen", cfg.Listen)
		}
	}
	l.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}}
	return l, nil
}

// CAScope is the control plane's local CA: loopback names only, the key
// in state_dir/ca-key.pem (owner-only) and the certificate in
// state_dir/ca.pem, the file clients trust (SSL_CERT_FILE).
var CAScope = intercept.Scope{DNS: []string{"localhost"}, File: "ca-key.pem", CertFile: "ca.pem", Label: "apigw control plane CA"}

// Serve serves until Close.
func (l *Listener) Serve() error {
	var err error
	if l.srv.TLSConfig != nil {
		err = l.srv.ServeTLS(l.ln, "", "")
	} else {
		err = l.srv.Serve(l.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the listener; calls in flight get ctx's time to finish.
func (l *Listener) Close(ctx context.Context) {
	l.srv.Shutdown(ctx)
	l.srv.Close()
}

// ServeHTTP dispatches gRPC by content type and REST by path; the
// connection API (both forms) is the connectionapi package's.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// An open control plane (loopback, any token) answers loopback names
	// only: a page whose own name someone rebinds to 127.0.0.1 is
	// same-origin with it and could set any Authorization header.
	if l.access.open && !adminguard.AllowedHost(r.Host, nil) {
		writeStatus(w, http.StatusForbidden, codes.PermissionDenied, "this control plane accepts any token and answers loopback names only (localhost, an IP address); set control_plane.tokens to serve "+r.Host)
		return
	}
	if connectionapi.IsGRPC(r) {
		if strings.HasPrefix(r.URL.Path, "/yandex.cloud.serverless.apigateway.websocket.v1.") && l.conns != nil {
			l.conns.ServeHTTP(w, r)
			return
		}
		l.rpc.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, connectionapi.RESTPrefix) && l.conns != nil {
		l.conns.ServeHTTP(w, r)
		return
	}
	l.rest.ServeHTTP(w, r)
}
