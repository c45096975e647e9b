package intercept

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// MaxTunnels bounds the tunnels (and the connections still sending their
// CONNECT) the proxy holds at once: a runaway function cannot exhaust
// apigw's files. Past it a CONNECT gets 503.
const MaxTunnels = 512

// tunnelLinger is how long a tunnel stays open once one side has finished.
const tunnelLinger = 30 * time.Second

// Proxy is the forward proxy apigw's function processes are given. It
// listens on loopback only and serves only callers that know its secret
// (the password of the proxy URL they are given): it is not an open proxy.
//
// A CONNECT to Host is answered by apigw itself: the proxy completes the
// TLS handshake with a certificate from the local CA and serves the
// connection (HTTP/1.1 or HTTP/2, REST or gRPC) from the handler it is made
// with. Every other
// CONNECT is tunnelled byte for byte, through the proxy apigw itself was
// given (HTTPS_PROXY and NO_PROXY in its environment), if any. A TLS
// ClientHello for Host sent straight to the port is served as well: that
// is how the Node.js adapter routes fetch and https, which ignore
// HTTPS_PROXY; it reaches only that handler, which asks for a bearer token.
type Proxy struct {
	Log *slog.Logger

	ln       net.Listener
	secret   string
	tlsConf  *tls.Config
	upstream func(*url.URL) (*url.URL, error)
	srv      *http.Server
	conns    *connListener
	slots    chan struct{}
	dialer   net.Dialer
}

// NewProxy listens on a free loopback port. cert is the server certificate
// for Host.
func NewProxy(cert *tls.Certificate, handler http.Handler, log *slog.Logger) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		Log:    log,
		ln:     ln,
		secret: randomHex(16),
		slots:  make(chan struct{}, MaxTunnels),
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		tlsConf: &tls.Config{
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"},
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if !strings.EqualFold(strings.TrimSuffix(hello.ServerName, "."), Host) {
					return nil, fmt.Errorf("apigw intercepts only %s, not %q", Host, hello.ServerName)
				}
				return cert, nil
			},
		},
		// apigw's own proxy settings, read once: where the tunnels go.
		upstream: httpproxy.FromEnvironment().ProxyFunc(),
	}
	p.conns = &connListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: ln.Addr()}
	p.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		TLSConfig:         p.tlsConf,
	}
	p.srv.Protocols = new(http.Protocols)
	p.srv.Protocols.SetHTTP1(true)
	p.srv.Protocols.SetHTTP2(true)
	go p.srv.Serve(p.conns)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy URL a child is given, secret included.
func (p *Proxy) URL() string { return "http://apigw:" + p.secret + "@" + p.Addr() }

// Close stops the proxy and the connections it serves.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.conns.Close()
	p.srv.Close()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: let it pass
			continue
		}
		select {
		case p.slots <- struct{}{}:
			go func() {
				defer func() { <-p.slots }()
				p.serve(c)
			}()
		default:
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\napigw's proxy holds too many connections\n")
			c.Close()
		}
	}
}

// serve handles one accepted connection until it is handed on or closed.
func (p *Proxy) serve(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	if first[0] == 0x16 { // a TLS handshake record: straight to the intercept
		c.SetReadDeadline(time.Time{})
		p.intercept(&bufConn{Conn: c, r: br})
		return
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		reply(c, http.StatusBadRequest, "not an HTTP request: "+err.Error())
		return
	}
	c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		reply(c, http.StatusMethodNotAllowed, "apigw's proxy only tunnels (CONNECT); plain HTTP goes direct")
		return
	}
	if !p.authorized(req) {
		reply(c, http.StatusProxyAuthRequired, "apigw's proxy serves only the processes apigw started (the secret in their HTTPS_PROXY)",
			"Proxy-Authenticate", `Basic realm="apigw"`)
		return
	}
	host, port, err := net.SplitHostPort(req.Host)
	if err != nil || host == "" || port == "" || port == "0" {
		reply(c, http.StatusBadRequest, "CONNECT needs a host:port target, not "+req.Host)
		return
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), Host) {
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		p.Log.Debug("intercepting a connection to the cloud's connection API", "target", req.Host)
		p.intercept(&bufConn{Conn: c, r: br})
		return
	}
	if p.isSelf(host, port) {
		reply(c, http.StatusForbidden, "apigw's proxy does not tunnel to itself")
		return
	}
	p.tunnel(c, br, req.Host)
}

func (p *Proxy) authorized(req *http.Request) bool {
	v, ok := strings.CutPrefix(req.Header.Get("Proxy-Authorization"), "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	_, pass, _ := strings.Cut(string(raw), ":")
	return subtle.ConstantTimeCompare([]byte(pass), []byte(p.secret)) == 1
}

func (p *Proxy) isSelf(host, port string) bool {
	_, own, _ := net.SplitHostPort(p.Addr())
	if port != own {
		return false
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || (ip != nil && (ip.IsLoopback() || ip.IsUnspecified()))
}

// intercept completes a TLS handshake as Host and hands the connection to
// the HTTP server, which speaks HTTP/2 when the client asks for it.
func (p *Proxy) intercept(c net.Conn) {
	tc := tls.Server(c, p.tlsConf)
	if !p.conns.push(tc) {
		tc.Close()
	}
}

// tunnel connects to target (through apigw's own upstream proxy when its
// environment names one for target) and copies bytes both ways.
func (p *Proxy) tunnel(c net.Conn, br *bufio.Reader, target string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	up, err := p.dial(ctx, target)
	cancel()
	if err != nil {
		reply(c, http.StatusBadGateway, "apigw's proxy could not reach "+target+": "+err.Error())
		return
	}
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.Log.Debug("tunnelling", "target", target)
	var wg sync.WaitGroup
	var once sync.Once
	wg.Add(2)
	pipe := func(dst net.Conn, r io.Reader) {
		defer wg.Done()
		io.Copy(dst, r)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite() // half-close: the other side may still answer
		} else {
			dst.Close()
		}
		// One side is done: the other gets a while to finish, not forever.
		once.Do(func() {
			end := time.Now().Add(tunnelLinger)
			c.SetDeadline(end)
			up.SetDeadline(end)
		})
	}
	go pipe(up, br)
	go pipe(c, up)
	wg.Wait()
	c.Close()
	up.Close()
}

func (p *Proxy) dial(ctx context.Context, target string) (net.Conn, error) {
	via, err := p.upstream(&url.URL{Scheme: "https", Host: target})
	if err != nil || via == nil {
		return p.dialer.DialContext(ctx, "tcp", target)
	}
	addr := via.Host
	if via.Port() == "" {
		port := "80"
		if via.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(via.Hostname(), port)
	}
	c, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the upstream proxy %s: %w", via.Redacted(), err)
	}
	if via.Scheme == "https" {
		c = tls.Client(c, &tls.Config{ServerName: via.Hostname(), MinVersion: tls.VersionTLS12})
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if u := via.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("the upstream proxy %s: %w", via.Redacted(), err)
	}
	if res.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("the upstream proxy %s answered %s", via.Redacted(), res.Status)
	}
	c.SetDeadline(time.Time{})
	return &bufConn{Conn: c, r: br}, nil
}

// reply answers a proxy request with a plain-text error and closes.
func reply(c net.Conn, status int, msg string, header ...string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	h := ""
	for i := 0; i+1 < len(header); i += 2 {
		h += header[i] + ": " + header[i+1] + "\r\n"
	}
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s\n",
		status, http.StatusText(status), len(msg)+1, h, msg)
	c.Close()
}

// bufConn is a connection whose first bytes were read ahead into r.
type bufConn struct {
	net.Conn
	r io.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite half-closes the underlying TCP connection.
func (b *bufConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return b.Conn.Close()
}

// connListener hands connections to an http.Server.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
