package connectionapi

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// preface opens every HTTP/2 connection; a client that sends it first on
// a plain connection speaks h2c with prior knowledge, as gRPC clients with
// plaintext credentials do.
const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// SplitH2C divides a plain listener's connections by their first bytes:
// those that open with the HTTP/2 preface go to h2c (for the gRPC
// server's own transport, which costs half as much per call as gRPC
// served through net/http), the rest to http1. Closing either closes ln.
func SplitH2C(ln net.Listener) (http1, h2c net.Listener) {
	s := &split{ln: ln, done: make(chan struct{})}
	a := &side{s: s, ch: make(chan net.Conn)}
	b := &side{s: s, ch: make(chan net.Conn)}
	go s.accept(a, b)
	return a, b
}

type split struct {
	ln   net.Listener
	done chan struct{}
	once sync.Once
	err  error
}

func (s *split) close() error {
	s.once.Do(func() {
		close(s.done)
		s.err = s.ln.Close()
	})
	return s.err
}

func (s *split) accept(http1, h2c *side) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				s.close()
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like
			continue
		}
		go func() {
			to := http1
			br := bufio.NewReaderSize(c, len(preface))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for n := 1; n <= len(preface); n++ {
				b, err := br.Peek(n)
				if err != nil || b[n-1] != preface[n-1] {
					break
				}
				if n == len(preface) {
					to = h2c
				}
			}
			c.SetReadDeadline(time.Time{})
			select {
			case to.ch <- &peeked{Conn: c, r: br}:
			case <-s.done:
				c.Close()
			}
		}()
	}
}

// side is one of the two listeners.
type side struct {
	s  *split
	ch chan net.Conn
}

func (l *side) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

func (l *side) Close() error   { return l.s.close() }
func (l *side) Addr() net.Addr { return l.s.ln.Addr() }

// peeked is a connection whose first bytes were read ahead.
type peeked struct {
	net.Conn
	r io.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }
