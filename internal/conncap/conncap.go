// Package conncap keeps the gateway reachable when clients open connections
// without end: the API listeners hold at most a set number of connections
// (the rest of the process's file descriptors are kept for upstream calls,
// files and the admin listener), and WebSocket connections are capped in
// total and per client address. Defaults come from the file-descriptor
// limit, which the process raises to its hard limit at start.
package conncap

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Refused counts what the caps turned away, by reason: connections (an API
// listener was full), websocket (the WebSocket total) or websocket_per_ip.
var Refused = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "apigw_connections_refused_total",
	Help: "Client connections and WebSocket upgrades refused by the connection caps, by reason.",
}, []string{"reason"})

// Limits are the caps in force.
type Limits struct {
	Connections     int // client connections on the API listeners
	WebSockets      int // open WebSocket connections
	WebSocketsPerIP int // open WebSocket connections of one client address
}

// Defaults derives caps from the number of file descriptors the process
// may open (0: unknown). A descriptor in eight, at least 256, is kept for
// local files, function processes, Redis and the admin listener; of the
// rest, each client connection may need a second one for its upstream call
// (a proxied request, a function invocation), so client connections get
// half: a stuck backend holding every client's call open can never leave
// the process without a descriptor. WebSockets may take three quarters of
// the client connections, and one address a tenth of those (at least 100).
func Defaults(files uint64) Limits {
	if files == 0 || files > 1<<24 {
		files = 1 << 16 // unknown (or unbounded): a large but finite budget
	}
	reserve := max(256, files/8)
	conns := 64
	if files > reserve+128 {
		conns = int(files-reserve) / 2
	}
	return ForConnections(conns)
}

// ForConnections shares a cap on client connections out: WebSockets may
// take three quarters, and one address a tenth of those (at least 100).
func ForConnections(conns int) Limits {
	ws := conns * 3 / 4
	return Limits{Connections: conns, WebSockets: ws, WebSocketsPerIP: max(100, ws/10)}
}

// Listener holds a listener to a number of open connections: past it, a new
// connection is answered at once (an HTTP 503 on a plain listener, a close
// on a TLS one) and closed, so the process never runs out of descriptors.
type Listener struct {
	net.Listener
	max      int64
	open     *atomic.Int64
	refusal  []byte       // written to a refused connection (nil: just close it)
	refusing atomic.Int64 // refusals under way, each holding its descriptor up to a second
}

// maxPolite bounds the refusals answered at once: each holds a descriptor
// and a goroutine for up to a second, so under a flood the rest are closed
// without an answer rather than spending what the cap protects.
const maxPolite = 64

// NewListener caps ln at max connections; open is shared by the listeners
// that share the cap. plainHTTP says the connections speak HTTP/1 in the
// clear, so a refusal can say 503.
func NewListener(ln net.Listener, max int, open *atomic.Int64, plainHTTP bool) *Listener {
	l := &Listener{Listener: ln, max: int64(max), open: open}
	if plainHTTP {
		l.refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 73\r\n\r\n" +
			`{"message":"the gateway holds as many connections as it may","status":503}`)
	}
	return l
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &conn{Conn: c, open: l.open}, nil
		}
		l.open.Add(-1)
		Refused.WithLabelValues("connections").Inc()
		if l.refusal == nil || l.refusing.Add(1) > maxPolite {
			if l.refusal != nil {
				l.refusing.Add(-1)
			}
			c.Close()
			continue
		}
		go l.refuse(c)
	}
}

// refuse answers a connection over the cap with the 503 and closes it.
func (l *Listener) refuse(c net.Conn) {
	defer l.refusing.Add(-1)
	c.SetDeadline(time.Now().Add(time.Second))
	c.Write(l.refusal)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		// Read what the client sent (briefly) so that the close does
		// not reset the 503 away.
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}
	c.Close()
}

// conn gives its place back when it closes, whoever closes it (net/http,
// or a WebSocket that hijacked it).
type conn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// ReadFrom keeps the TCP connection's sendfile path (net/http's response
// writer sends files through it).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite half-closes, when the connection can.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
