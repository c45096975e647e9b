package httpproxy

import (
	"context"
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
	read        time.Duration
	gatewayID   string
	proxy       *httputil.ReverseProxy
	declared    *params.Declared
}

var _ integration.Handler = (*Integration)(nil)

// New decodes and checks an http integration.
func New(b *integration.Build, n *yaml.Node, path string) (integration.Handler, yamlx.List) {
	var c config
	errs := yamlx.Decode(n, &c, path)
	if len(errs) > 0 {
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
				it.read = seconds(*t.Read)
			}
		}
	}
	if c.ServiceAccountID != "" {
		errs.Warnf(yamlx.Get(n, "service_account_id"), yamlx.Join(path, "service_account_id"), "service accounts need Yandex Cloud credentials bindings, which this build lacks; requests go out without an IAM token")
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	it.proxy = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      b.Deps.Transport(connect),
		BufferPool:     bufferPool{},
		ErrorHandler:   recordError,
		ModifyResponse: modifyResponse,
		ErrorLog:       nil,
	}
	return it, errs
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// exchange carries one request's computed target from Serve to the proxy's
// hooks, and the proxy's error back.
type exchange struct {
	url      *url.URL
	host     string
	header   http.Header
	method   string
	err      error
	timer    *time.Timer
	read     time.Duration
	timedOut atomic.Bool
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	return r.Context().Value(exchangeKey{}).(*exchange)
}

func rewrite(pr *httputil.ProxyRequest) {
	x := exchangeOf(pr.In)
	pr.Out.URL = x.url
	pr.Out.Host = x.host
	pr.Out.Header = x.header
	pr.Out.Method = x.method
}

func recordError(_ http.ResponseWriter, r *http.Request, err error) {
	exchangeOf(r).err = err
}

func modifyResponse(res *http.Response) error {
	x := exchangeOf(res.Request)
	// The gateway sets its own X-Request-Id on every response.
	res.Header.Del("X-Request-Id")
	if x.timer != nil {
		// timeouts.read bounds each wait for the upstream: for the headers,
		// then between body reads, so a long download keeps streaming.
		x.timer.Reset(x.read)
		res.Body = &idleBody{ReadCloser: res.Body, x: x}
	}
	return nil
}

type idleBody struct {
	io.ReadCloser
	x *exchange
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.x.timer.Reset(b.x.read)
	return n, err
}

func (b *idleBody) Close() error {
	b.x.timer.Stop()
	return b.ReadCloser.Close()
}

// Serve proxies the request.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	x := &exchange{read: it.read}
	var err error
	if x.url, err = it.target(r, c.Params); err != nil {
		return err
	}
	if x.header, x.host, err = it.outHeaders(r, c); err != nil {
		return err
	}
	x.method = it.method
	if x.method == "" {
		x.method = r.Method
	}
	ctx := context.WithValue(r.Context(), exchangeKey{}, x)
	if it.read > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		x.timer = time.AfterFunc(it.read, func() {
			x.timedOut.Store(true)
			cancel()
		})
		defer x.timer.Stop()
	}
	it.proxy.ServeHTTP(w, r.WithContext(ctx))
	if x.err != nil {
		return it.mapError(r, x)
	}
	return nil
}

func (it *Integration) mapError(r *http.Request, x *exchange) error {
	err := x.err
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return httperr.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", mbe.Limit), err)
	case x.timedOut.Load():
		return httperr.Wrap(http.StatusGatewayTimeout, fmt.Sprintf("upstream did not answer within timeouts.read (%s)", it.read), err)
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		return httperr.Wrap(http.StatusGatewayTimeout, "execution timeout expired before the upstream answered", err)
	case errors.Is(r.Context().Err(), context.Canceled):
		return httperr.Wrap(499, "client closed the request", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return httperr.Wrap(http.StatusGatewayTimeout, "upstream timed out", err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return httperr.Wrap(http.StatusBadGateway, "upstream is unreachable", err)
	}
	return httperr.Wrap(http.StatusBadGateway, "upstream request failed", err)
}

// bufferPool reuses 32 KB copy buffers between responses.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
