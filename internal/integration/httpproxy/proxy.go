package httpproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/headers"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Integration is a compiled http integration.
type Integration struct {
	url         urlTemplate
	method      string // "" keeps the incoming method
	headers     []entry
	allHeaders  bool // '*': '*'
	named       map[string]bool
	query       []entry
	allQuery    bool
	namedQuery  map[string]bool
	omitHeaders bool
	omitQuery   bool
	gatewayID   string
	engine      Engine
	declared    *params.Declared
	// account, when set, is the service account the target is called as:
	// its IAM token is the request's Authorization.
	account *integration.Account
}

var (
	_ integration.Handler = (*Integration)(nil)
	_ integration.Timed   = (*Integration)(nil)
)

// AppliesDeadline: Serve bounds the upstream call by Call.Deadline itself.
func (*Integration) AppliesDeadline() {}

// New decodes and checks an http integration.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var c config
	errs := yamlx.DecodeExtension(n, &c, path)
	if errs.Err() != nil {
		return nil, errs
	}
	it := &Integration{
		omitHeaders: c.OmitEmptyHeaders,
		omitQuery:   c.OmitEmptyQueryParameters,
		gatewayID:   b.Bindings.GatewayID,
		declared:    b.Declared,
		named:       map[string]bool{},
		namedQuery:  map[string]bool{},
	}
	if c.URL == "" {
		errs.Errorf(n, path, "http integration needs url")
	} else if u, err := parseURL(c.URL, b.Declared); err != nil {
		errs.Errorf(yamlx.Get(n, "url"), yamlx.Join(path, "url"), "%v", err)
	} else {
		it.url = u
	}
	method := c.Method
	if method == "" {
		method = c.HTTPMethod
	}
	if method != "" {
		it.method = strings.ToUpper(method)
		if !methods[it.method] {
			at := yamlx.Get(n, "method")
			if at == nil {
				at = yamlx.Get(n, "http_method")
			}
			errs.Errorf(at, yamlx.Join(path, "method"), "unsupported method %q", method)
		}
	}
	var e yamlx.List
	it.headers, it.allHeaders, e = compileMap(&c.Headers, yamlx.Join(path, "headers"), b.Declared)
	errs.Add(e...)
	for _, h := range it.headers {
		it.named[http.CanonicalHeaderKey(h.name)] = true
	}
	it.query, it.allQuery, e = compileMap(&c.Query, yamlx.Join(path, "query"), b.Declared)
	errs.Add(e...)
	for _, q := range it.query {
		it.namedQuery[q.name] = true
	}
	connect := defaultConnect
	if t := c.Timeouts; t != nil {
		tp := yamlx.Join(path, "timeouts")
		if t.Connect != nil {
			if *t.Connect <= 0 {
				errs.Errorf(yamlx.Get(yamlx.Get(n, "timeouts"), "connect"), yamlx.Join(tp, "connect"), "must be a positive number of seconds")
			} else {
				connect = seconds(*t.Connect)
			}
		}
		if t.Read != nil {
			if *t.Read <= 0 {
				errs.Errorf(yamlx.Get(yamlx.Get(n, "timeouts"), "read"), yamlx.Join(tp, "read"), "must be a positive number of seconds")
			} else {
				it.engine.Read = seconds(*t.Read)
			}
		}
	}
	// The http integration calls url as its own service account only: the
	// cloud ignores the top-level one here, and a gateway-wide token must
	// not go to every backend.
	acct, e := b.ServiceAccount(c.ServiceAccountID, n, path, false)
	errs.Add(e...)
	it.account = acct
	if acct != nil && it.named["Authorization"] {
		errs.Warnf(yamlx.Get(yamlx.Get(n, "headers"), "Authorization"), yamlx.Join(path, "headers.Authorization"),
			"service account %s calls url with its IAM token in Authorization, which replaces this header", acct.ID)
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	it.engine.Transport = b.Deps.Transport(connect)
	return it, errs
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Serve proxies the request: it computes the upstream request from the
// integration's url, method, headers and query, and forwards it.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	target, err := it.target(r, c.Params)
	if err != nil {
		return err
	}
	header, host, err := it.outHeaders(r, c)
	if err != nil {
		return err
	}
	method := it.method
	if method == "" {
		method = r.Method
	}
	if c.Observed != nil {
		c.Observe("http", method+" "+target.String())
	}
	return it.engine.Forward(w, r, c.Deadline, &Outbound{Method: method, URL: target, Header: header, Host: host})
}

// Outbound is the request an Engine sends upstream.
type Outbound struct {
	Method string
	URL    *url.URL
	Header http.Header // end-to-end headers only
	Host   string
}

// Engine forwards requests upstream and streams the answers back. It is the
// one proxy of the gateway: the http integration and serverless_containers
// both use it, each computing its own Outbound.
type Engine struct {
	Transport http.RoundTripper
	// Read bounds each wait for the upstream (headers, then every body
	// read); 0: only the execution deadline.
	Read time.Duration
}

// Forward sends out with the client's body and streams the response to w.
// Only protocol upgrades (WebSocket to a backend) go through
// httputil.ReverseProxy, which knows how to splice the two connections.
func (e *Engine) Forward(w http.ResponseWriter, r *http.Request, deadline time.Time, o *Outbound) error {
	if r.Header.Get("Upgrade") != "" {
		return e.serveUpgrade(w, r, o)
	}

	// One context bounds the call: the gateway's execution deadline, the
	// client going away, and Read (a timer that is reset while the
	// upstream makes progress).
	ctx := r.Context()
	var cancel context.CancelFunc
	switch {
	case !deadline.IsZero():
		ctx, cancel = context.WithDeadline(ctx, deadline)
	case e.Read > 0:
		ctx, cancel = context.WithCancel(ctx)
	}
	if cancel != nil {
		defer cancel()
	}
	var timer *time.Timer
	var timedOut atomic.Bool
	if e.Read > 0 {
		timer = time.AfterFunc(e.Read, func() {
			timedOut.Store(true)
			cancel()
		})
		defer timer.Stop()
	}

	out := &http.Request{
		Method:        o.Method,
		URL:           o.URL,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        o.Header,
		Host:          o.Host,
		Body:          r.Body,
		ContentLength: r.ContentLength,
	}
	if r.ContentLength == 0 {
		out.Body = http.NoBody
	}
	out = out.WithContext(ctx)
	res, err := e.Transport.RoundTrip(out)
	if err != nil {
		return e.mapError(ctx, r, err, timedOut.Load())
	}
	defer res.Body.Close()

	h := w.Header()
	conn := headers.ConnectionTokens(res.Header)
	for k, vv := range res.Header {
		// The gateway's own X-Request-Id stays the only one.
		if headers.IsHopByHop(k) || conn[k] || k == "X-Request-Id" {
			continue
		}
		h[k] = vv
	}
	if len(res.Trailer) > 0 {
		names := make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			names = append(names, k)
		}
		h["Trailer"] = []string{strings.Join(names, ", ")}
	}
	w.WriteHeader(res.StatusCode)

	// Stream the body: a pooled buffer, nothing held beyond it. Flush at
	// once when the length is unknown (chunked, event streams), so that
	// streaming responses are not delayed by buffering.
	flush := res.ContentLength < 0 || strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream")
	rc := http.NewResponseController(w)
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	buf := *bufp
	for {
		n, rerr := res.Body.Read(buf)
		if timer != nil {
			timer.Reset(e.Read)
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the client is gone; nothing left to tell it
			}
			if flush {
				rc.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// The upstream broke mid-body: abort the response so the client
			// sees a truncated transfer, never a complete-looking one.
			panic(http.ErrAbortHandler)
		}
	}
	for k, vv := range res.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	return nil
}

// serveUpgrade proxies a protocol upgrade with httputil.ReverseProxy.
func (e *Engine) serveUpgrade(w http.ResponseWriter, r *http.Request, o *Outbound) error {
	var proxyErr error
	up := r.Header.Get("Upgrade")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			o.Header.Set("Connection", "Upgrade")
			o.Header.Set("Upgrade", up)
			pr.Out.URL, pr.Out.Host, pr.Out.Header, pr.Out.Method = o.URL, o.Host, o.Header, o.Method
		},
		Transport:    e.Transport,
		ErrorHandler: func(_ http.ResponseWriter, _ *http.Request, err error) { proxyErr = err },
	}
	rp.ServeHTTP(w, r)
	if proxyErr != nil {
		return e.mapError(r.Context(), r, proxyErr, false)
	}
	return nil
}

func (e *Engine) mapError(ctx context.Context, r *http.Request, err error, readTimedOut bool) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return httperr.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit), err)
	case readTimedOut:
		return httperr.Wrap(http.StatusGatewayTimeout, fmt.Sprintf("upstream did not answer within timeouts.read (%s)", e.Read), err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return httperr.Wrap(http.StatusGatewayTimeout, "execution timeout expired before the upstream answered", err)
	case r.Context().Err() != nil:
		return httperr.Wrap(499, "client closed the request", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return httperr.Wrap(http.StatusGatewayTimeout, "upstream timed out", err)
	}
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return httperr.Wrap(http.StatusBadGateway, "upstream TLS certificate is not trusted (a private CA can be added with SSL_CERT_FILE)", err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return httperr.Wrap(http.StatusBadGateway, "upstream is unreachable", err)
	}
	return httperr.Wrap(http.StatusBadGateway, "upstream request failed", err)
}

// buffers are the 32 KB copy buffers shared by all responses.
var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
