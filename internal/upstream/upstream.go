// Package upstream is the gateway's HTTP client for its backends.
package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/tracing"
)

// Transport is an HTTP/1.1 client for plain-http upstreams that does each
// exchange in the calling goroutine: it writes the request and reads the
// response on a pooled keep-alive connection itself. net/http.Transport hands
// every exchange between three goroutines (caller, writeLoop, readLoop); on a
// small machine those wake-ups cost more than the proxying. Anything it does
// not handle (TLS, upgrades) goes to the fallback Transport.
type Transport struct {
	dialer   *net.Dialer
	fallback *http.Transport
	maxIdle  int
	idleFor  time.Duration

	mu   sync.Mutex
	idle map[string][]*pconn
}

type pconn struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	usedAt time.Time
}

var _ http.RoundTripper = (*Transport)(nil)

// New returns a transport whose connections are dialled within connect.
//
// Go's default transport keeps 2 idle connections per host; under load a
// proxy would then open and close connections all the time, so the pool is
// sized for a gateway. Compression is left to the client and the upstream:
// the gateway passes bytes through.
func New(connect time.Duration) *Transport {
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	fallback := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
	return &Transport{dialer: dialer, fallback: fallback, maxIdle: 1024, idleFor: 90 * time.Second, idle: map[string][]*pconn{}}
}

// RoundTrip implements http.RoundTripper.
func (u *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tracing.Inject(req.Context(), req.Header) // traceparent, when tracing is on
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" {
		return u.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	replayable := req.Body == nil || req.Body == http.NoBody
	for attempt := 0; ; attempt++ {
		pc, reused, err := u.get(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		res, err := u.exchange(pc, req, addr)
		if err == nil {
			return res, nil
		}
		pc.conn.Close()
		// A kept-alive connection the upstream closed while idle fails
		// before any response byte; a request without a body is safe to
		// send again on a fresh connection (as net/http does).
		if reused && replayable && attempt == 0 && req.Context().Err() == nil && errors.Is(err, errStale) {
			continue
		}
		return nil, err
	}
}

var errStale = errors.New("upstream closed a kept-alive connection")

// probeAfter is how long a pooled connection may sit idle before it is
// checked for a close by the upstream before reuse.
const probeAfter = 500 * time.Millisecond

func (u *Transport) get(ctx context.Context, addr string) (*pconn, bool, error) {
	u.mu.Lock()
	list := u.idle[addr]
	for len(list) > 0 {
		pc := list[len(list)-1]
		list = list[:len(list)-1]
		idle := time.Since(pc.usedAt)
		if idle < u.idleFor {
			u.idle[addr] = list
			u.mu.Unlock()
			// A connection in steady use is trusted; one that sat idle is
			// checked, since the upstream may have closed it meanwhile.
			if idle < probeAfter || alive(pc.conn) {
				return pc, true, nil
			}
			pc.conn.Close()
			u.mu.Lock()
			list = u.idle[addr]
			continue
		}
		pc.conn.Close()
	}
	u.idle[addr] = list
	u.mu.Unlock()
	c, err := u.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &pconn{conn: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, false, nil
}

func (u *Transport) put(addr string, pc *pconn) {
	pc.usedAt = time.Now()
	u.mu.Lock()
	if len(u.idle[addr]) < u.maxIdle {
		u.idle[addr] = append(u.idle[addr], pc)
		pc = nil
	}
	u.mu.Unlock()
	if pc != nil {
		pc.conn.Close()
	}
}

// exchange writes req on pc and reads the response head. The body is read
// by the caller through a wrapper that returns pc to the pool once it has
// been read to the end.
func (u *Transport) exchange(pc *pconn, req *http.Request, addr string) (*http.Response, error) {
	ctx := req.Context()
	// Cancellation (client gone, timeouts) unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(time.Unix(1, 0)) })
	out, body := req, (*bodyReader)(nil)
	if req.Body != nil && req.Body != http.NoBody {
		// Request.Write hides body read errors (such as the gateway's
		// body limit) behind an unexported type; keep our own copy.
		cp := *req
		body = &bodyReader{ReadCloser: req.Body}
		cp.Body = body
		out = &cp
	}
	if err := out.Write(pc.bw); err != nil {
		stop()
		if body != nil && body.err != nil {
			return nil, body.err
		}
		return nil, ctxErr(ctx, err)
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	for {
		if _, err := pc.br.Peek(1); err != nil {
			stop()
			if err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err) {
				return nil, errStale
			}
			return nil, ctxErr(ctx, err)
		}
		res, err := http.ReadResponse(pc.br, req)
		if err != nil {
			stop()
			return nil, ctxErr(ctx, err)
		}
		if res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols {
			continue // interim responses (100 Continue, 103 Early Hints) are not forwarded
		}
		reuse := !res.Close && !req.Close && res.StatusCode != http.StatusSwitchingProtocols
		res.Body = &pooledBody{body: res.Body, pc: pc, u: u, addr: addr, stop: stop, reuse: reuse}
		return res, nil
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// pooledBody returns the connection to the pool when the body has been read
// to its end, and closes it otherwise.
type pooledBody struct {
	body  io.ReadCloser
	pc    *pconn
	u     *Transport
	addr  string
	stop  func() bool
	reuse bool
	eof   bool
	done  bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.body.Close()
	if !b.stop() {
		// The context fired: the deadline poisoned the connection.
		b.pc.conn.Close()
		return err
	}
	if b.eof && b.reuse && err == nil {
		b.u.put(b.addr, b.pc)
	} else {
		b.pc.conn.Close()
	}
	return err
}

// CloseIdleConnections closes every pooled connection.
func (u *Transport) CloseIdleConnections() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for addr, list := range u.idle {
		for _, pc := range list {
			pc.conn.Close()
		}
		delete(u.idle, addr)
	}
	u.fallback.CloseIdleConnections()
}

// bodyReader remembers the error of the request body it reads.
type bodyReader struct {
	io.ReadCloser
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
