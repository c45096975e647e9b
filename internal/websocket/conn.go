package websocket

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options are a connection's limits and timers.
type Options struct {
	Limits Limits
	// Idle closes a connection without client activity (messages, pings)
	// for this long, with 1001 (the cloud: 10 minutes).
	Idle time.Duration
	// Lifetime closes a connection this long after it opened, with 1001
	// (the cloud: 60 minutes).
	Lifetime time.Duration
	// MaxQueued bounds the bytes of messages waiting to be written to the
	// client (DefaultMaxQueued when 0); WriteTimeout bounds one write
	// (DefaultWriteTimeout when 0), and how long the queue may stay full.
	MaxQueued    int
	WriteTimeout time.Duration
}

// DefaultOptions are the cloud's.
var DefaultOptions = Options{Limits: DefaultLimits, Idle: 10 * time.Minute, Lifetime: 60 * time.Minute}

// The outbound defaults: eight messages of the cloud's largest size may
// wait; a client that takes 10 s over one write, or leaves its queue full
// that long, is cut off.
const (
	DefaultMaxQueued    = 1 << 20
	DefaultWriteTimeout = 10 * time.Second
)

// ErrQueueFull is a Send to a connection whose outbound queue is full: the
// client does not read as fast as messages come.
var ErrQueueFull = errors.New("the connection's outbound queue is full")

// Conn is one accepted WebSocket connection.
type Conn struct {
	ID          string
	Path        string
	ConnectedAt time.Time
	SourceIP    string
	UserAgent   string

	netConn  net.Conn
	br       *bufio.Reader
	opts     Options
	wmu      sync.Mutex   // one writer at a time
	broken   bool         // a write failed part-way: no frame may follow (wmu)
	lastSeen atomic.Int64 // Unix nanoseconds of the last client activity
	closing  atomic.Bool
	closed   chan struct{}
	result   *CloseError // how it ended (set before closed closes)
	once     sync.Once
	onDone   func(*Conn) // run once the connection has ended (the registry's removal)

	// The outbound queue: Send appends and returns; a writer goroutine,
	// running only while the queue is not empty (an idle connection has
	// none), writes the messages in order.
	qmu       sync.Mutex
	queue     []outbound
	queued    int       // bytes in queue
	writing   bool      // the writer runs
	fullSince time.Time // when a Send first found the queue full (zero: it is not)

	// Messages and payload bytes each way, for the console.
	msgsIn, msgsOut, bytesIn, bytesOut atomic.Int64
	// observe, when the console records, sees each message (in: from the
	// client); set by the hub before the connection serves.
	observe func(c *Conn, in bool, op Opcode, data []byte)
}

// Counts are a connection's messages and payload bytes each way.
type Counts struct {
	MessagesIn  int64 `json:"messagesIn"`
	MessagesOut int64 `json:"messagesOut"`
	BytesIn     int64 `json:"bytesIn"`
	BytesOut    int64 `json:"bytesOut"`
}

// Counts reports c's traffic so far.
func (c *Conn) Counts() Counts {
	return Counts{c.msgsIn.Load(), c.msgsOut.Load(), c.bytesIn.Load(), c.bytesOut.Load()}
}

// outbound is one message waiting to be written.
type outbound struct {
	op   Opcode
	data []byte
}

// Handshake checks an upgrade request (RFC 6455 §4.2.1); nil means it is one.
func Handshake(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return ErrHandshake
	case !headerHasToken(r.Header, "Connection", "upgrade"), !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		return ErrHandshake
	case r.Header.Get("Sec-Websocket-Version") != "13":
		return ErrHandshake
	}
	key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-Websocket-Key"))
	if err != nil || len(key) != 16 {
		return ErrHandshake
	}
	return nil
}

// IsUpgrade reports a request that asks for a WebSocket (valid or not).
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// NewID returns a connection ID: 32 lowercase alphanumeric characters, as
// the cloud's look (and within the management API's 50).
func NewID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [32]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// Accept completes the handshake of a request Handshake accepted: it
// hijacks the connection and writes 101 with extra headers (the connection
// ID, an agreed sub-protocol). register, if not nil, runs before the 101
// goes out, so that a registry knows the connection by the time the
// client does.
func Accept(w http.ResponseWriter, r *http.Request, id string, extra http.Header, opts Options, register func(*Conn)) (*Conn, error) {
	rc := http.NewResponseController(w)
	nc, brw, err := rc.Hijack()
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &Conn{
		ID: id, Path: r.URL.Path, ConnectedAt: time.Now(), SourceIP: host, UserAgent: r.UserAgent(),
		netConn: nc, br: smallReader(nc, brw.Reader), opts: opts, closed: make(chan struct{}),
	}
	c.touch()
	// Hold the write lock until the 101 is out: a Send that finds the
	// connection in the registry must not write a frame before it.
	c.wmu.Lock()
	if register != nil {
		register(c)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(AcceptKey(r.Header.Get("Sec-Websocket-Key")))
	b.WriteString("\r\n")
	for k, vv := range extra {
		for _, v := range vv {
			if strings.ContainsAny(v, "\r\n") {
				continue
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	_, err = nc.Write([]byte(b.String()))
	openConnections.Inc() // finish decrements, whatever ends the connection
	c.wmu.Unlock()
	if err != nil {
		c.finish(&CloseError{Code: CloseAbnormal, Reason: "the 101 could not be written"}, 0)
		return nil, err
	}
	return c, nil
}

func (c *Conn) touch() { c.lastSeen.Store(time.Now().UnixNano()) }

// Write buffers are pooled and taken only while writing: an idle
// connection holds none.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}

// writeFrames writes frames through a pooled buffer (c.wmu held).
func (c *Conn) writeFrames(write func(w *bufio.Writer) error) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c.netConn)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	return err
}

// smallReader replaces the 4 KiB read buffer net/http hands over with a
// 128-byte one (frames are read header by header, payloads straight into
// their buffers), keeping any bytes the client already sent.
func smallReader(nc net.Conn, big *bufio.Reader) *bufio.Reader {
	var src io.Reader = nc
	if n := big.Buffered(); n > 0 {
		pending, _ := big.Peek(n)
		src = io.MultiReader(bytes.NewReader(append([]byte(nil), pending...)), nc)
	}
	return bufio.NewReaderSize(src, 128)
}

// LastActive is when the client was last heard from.
func (c *Conn) LastActive() time.Time { return time.Unix(0, c.lastSeen.Load()) }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Result is how the connection ended (after Done).
func (c *Conn) Result() *CloseError { return c.result }

// Send queues one message for the client and returns at once; the
// connection's writer sends it, in order, fragmented into frames within the
// frame limit (clients and proxies expect the cloud's 32 KB frames). data
// is kept until it is written: the caller must not change it. Errors:
// net.ErrClosed when the connection has ended, ErrQueueFull when the queue
// holds MaxQueued bytes; a client whose queue stays full for WriteTimeout
// is disconnected (1011), as one that does not read would otherwise hold
// its messages, and every sender's patience, for ever.
func (c *Conn) Send(op Opcode, data []byte) error {
	c.qmu.Lock()
	if c.closing.Load() {
		c.qmu.Unlock()
		return net.ErrClosed
	}
	if c.queued > 0 && c.queued+len(data) > c.maxQueued() {
		now := time.Now()
		if c.fullSince.IsZero() {
			c.fullSince = now
		}
		stuck := now.Sub(c.fullSince) >= c.writeTimeout()
		c.qmu.Unlock()
		droppedMessages.Inc()
		if stuck {
			c.abort(CloseInternal, "the client did not read its messages")
		}
		return ErrQueueFull
	}
	c.fullSince = time.Time{}
	c.pushAndUnlock(outbound{op, data})
	countMessage(dirOut, op, len(data))
	c.msgsOut.Add(1)
	c.bytesOut.Add(int64(len(data)))
	if c.observe != nil {
		c.observe(c, false, op, data)
	}
	return nil
}

// pushAndUnlock appends m to the queue, releases c.qmu (held by the
// caller) and starts the writer if it is not running.
func (c *Conn) pushAndUnlock(m outbound) {
	c.queue = append(c.queue, m)
	c.queued += len(m.data)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *Conn) maxQueued() int {
	if c.opts.MaxQueued > 0 {
		return c.opts.MaxQueued
	}
	return DefaultMaxQueued
}

func (c *Conn) writeTimeout() time.Duration {
	if c.opts.WriteTimeout > 0 {
		return c.opts.WriteTimeout
	}
	return DefaultWriteTimeout
}

// writeLoop writes queued messages until the queue is empty. A write that
// fails or times out leaves a frame half-written, after which nothing may
// follow on the stream: the connection is closed at once.
func (c *Conn) writeLoop() {
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 || c.closing.Load() {
			c.queue, c.queued, c.writing = nil, 0, false
			c.qmu.Unlock()
			return
		}
		m := c.queue[0]
		c.queue[0] = outbound{}
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		err := c.write(m)
		c.qmu.Lock()
		c.queued -= len(m.data)
		c.qmu.Unlock()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			c.abort(CloseInternal, "a write to the client failed: "+err.Error())
		}
	}
}

// write writes one message (or control frame) under the write lock.
func (c *Conn) write(m outbound) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() || c.broken {
		return net.ErrClosed
	}
	c.netConn.SetWriteDeadline(time.Now().Add(c.writeTimeout()))
	if c.closing.Load() {
		// finish cut the write deadline short while this one was set.
		c.netConn.SetWriteDeadline(time.Now().Add(closeGrace))
	}
	max := int(c.opts.Limits.MaxFrame)
	if max <= 0 || m.op >= OpClose {
		max = len(m.data) + 1
	}
	data := m.data
	err := c.writeFrames(func(bw *bufio.Writer) error {
		first := true
		for {
			n := min(len(data), max)
			fop := OpContinuation
			if first {
				fop = m.op
			}
			if err := WriteFrame(bw, n == len(data), fop, data[:n]); err != nil {
				return err
			}
			data, first = data[n:], false
			if len(data) == 0 {
				return nil
			}
		}
	})
	if err != nil {
		c.broken = true
	}
	return err
}

// closeGrace is how long a close frame, or a write under way when the
// connection closes, may take.
const closeGrace = time.Second

// Close ends the connection with a close frame (best effort) and records
// the code and reason; the read loop then stops.
func (c *Conn) Close(code int, reason string) {
	c.finish(&CloseError{Code: code, Reason: reason}, code)
}

// abort ends the connection without a close frame: the stream may hold
// a half-written frame, or the client is not reading anyway. code and
// reason are what the disconnect event reports.
func (c *Conn) abort(code int, reason string) {
	c.finish(&CloseError{Code: code, Reason: reason}, 0)
}

// finish records how the connection ended, sends a close frame with
// frameCode (0: none, the connection is gone) and closes the socket. It
// never waits long for a writer: a write under way gets closeGrace to end.
func (c *Conn) finish(res *CloseError, frameCode int) {
	c.once.Do(func() {
		c.closing.Store(true)
		if frameCode != 0 {
			if !c.wmu.TryLock() {
				c.netConn.SetWriteDeadline(time.Now().Add(closeGrace))
				c.wmu.Lock()
			}
			if !c.broken {
				reason := res.Reason
				if res.Remote {
					reason = "" // an echo carries the code only
				}
				c.netConn.SetWriteDeadline(time.Now().Add(closeGrace))
				c.writeFrames(func(bw *bufio.Writer) error { return WriteFrame(bw, true, OpClose, ClosePayload(frameCode, reason)) })
			}
			c.wmu.Unlock()
		}
		c.result = res
		c.netConn.Close()
		openConnections.Dec()
		disconnections.Inc()
		close(c.closed)
		if c.onDone != nil {
			c.onDone(c)
		}
	})
}

// Serve reads messages until the connection ends and hands each to
// handle, in order. It returns how the connection ended.
func (c *Conn) Serve(handle func(Message)) *CloseError {
	r := NewReader(c.br, c.opts.Limits)
	r.OnPing = func(p []byte) error {
		c.touch()
		// Through the queue: the reader never waits on a write to a slow
		// client.
		c.queuePong(p)
		return nil
	}
	r.OnPong = func([]byte) { c.touch() }
	stopTimers := c.startTimers()
	defer stopTimers()
	for {
		msg, err := r.ReadMessage()
		if err != nil {
			var ce *CloseError
			switch {
			case c.closing.Load():
				// Closed by the gateway (Close): keep its code.
			case errors.As(err, &ce) && ce.Remote:
				// Echo the peer's close (§5.5.1) and record its code.
				echo := ce.Code
				if echo == CloseNoStatus {
					echo = CloseNormal
				}
				c.finish(ce, echo)
			case errors.As(err, &ce):
				c.finish(ce, ce.Code) // a violation: close with its code
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
				c.finish(&CloseError{Code: CloseAbnormal, Reason: "the client went away without a close frame"}, 0)
			default:
				c.finish(&CloseError{Code: CloseAbnormal, Reason: err.Error()}, 0)
			}
			<-c.closed
			return c.result
		}
		c.touch()
		countMessage(dirIn, msg.Op, len(msg.Data))
		c.msgsIn.Add(1)
		c.bytesIn.Add(int64(len(msg.Data)))
		if c.observe != nil {
			c.observe(c, true, msg.Op, msg.Data)
		}
		handle(msg)
	}
}

// queuePong queues the answer to a ping, unless the queue is full: a
// client that pings without reading would otherwise grow it without end.
// (RFC 6455 §5.5.3 lets an endpoint answer only the latest of several
// pings; one that does not read is cut off by the write timeout anyway.)
func (c *Conn) queuePong(p []byte) {
	c.qmu.Lock()
	if c.closing.Load() || c.queued >= c.maxQueued() {
		c.qmu.Unlock()
		return
	}
	c.pushAndUnlock(outbound{OpPong, append([]byte(nil), p...)})
}

// startTimers arms the idle and lifetime deadlines as runtime timers (no
// goroutine per connection): the idle timer, when it fires early because
// the client was active meanwhile, re-arms itself for the rest.
func (c *Conn) startTimers() (stop func()) {
	var lifetime, idle *time.Timer
	if c.opts.Lifetime > 0 {
		lifetime = time.AfterFunc(c.opts.Lifetime, func() { c.Close(CloseGoingAway, "connection lifetime ended") })
	}
	if c.opts.Idle > 0 {
		var check func()
		check = func() {
			left := c.opts.Idle - time.Since(c.LastActive())
			if left <= 0 {
				c.Close(CloseGoingAway, "idle timeout")
				return
			}
			c.wmu.Lock()
			if !c.closing.Load() {
				idle.Reset(left)
			}
			c.wmu.Unlock()
		}
		c.wmu.Lock()
		idle = time.AfterFunc(c.opts.Idle, check)
		c.wmu.Unlock()
	}
	return func() {
		if lifetime != nil {
			lifetime.Stop()
		}
		if idle != nil {
			c.wmu.Lock()
			idle.Stop()
			c.wmu.Unlock()
		}
	}
}
