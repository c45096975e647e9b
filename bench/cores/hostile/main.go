// Command hostile sends the requests a gateway's listener must refuse or
// survive, over raw TCP, to one server, and prints a PASS or FAIL line per
// check with what came back. bench/cores runs it against every core.
//
//	hostile -addr 127.0.0.1:18084 -path /dummy [-slow 35s] [-hangup-path /hangup -hangup-backend 127.0.0.1:18095]
//
// A core that is fast but lets one of these through is out, or must show
// how it closes the hole (issue 18).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	addr = flag.String("addr", "127.0.0.1:18084", "the server")
	path = flag.String("path", "/dummy", "a path that answers 200 to GET")
	slow = flag.Duration("slow", 35*time.Second, "how long a slowloris connection may live before the server must have closed it")
	// The hang-up check: hangupPath must be proxied by the server to
	// hangupBackend, where this command serves a backend that never
	// answers and notes when its request is cancelled.
	hangupPath    = flag.String("hangup-path", "", "a path the server proxies to -hangup-backend (empty: skip the hang-up check)")
	hangupBackend = flag.String("hangup-backend", "127.0.0.1:18095", "where the slow backend of the hang-up check listens")
)

type result struct {
	name, verdict, detail string
}

func main() {
	flag.Parse()
	checks := []func() result{
		smugglingCLTE, duplicateCL, badTE, badChunk, hugeHeader, hugeBody, absoluteForm,
		encodedSlash, obsFold, ctlInHeader, garbageRequestLine, pipelining, slowlorisCrowd, slowloris, hangUp,
	}
	failed := 0
	for _, c := range checks {
		r := c()
		if r.verdict == "FAIL" {
			failed++
		}
		fmt.Printf("%s %-22s %s\n", r.verdict, r.name, r.detail)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// exchange writes raw and reads every response until the server closes or
// goes quiet for wait; it returns the status codes and whether the
// connection was closed.
func exchange(raw string, wait time.Duration) (statuses []int, closed bool, err error) {
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		return nil, true, nil
	}
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		st, err := readResponse(br)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return statuses, false, nil
			}
			return statuses, true, nil
		}
		statuses = append(statuses, st)
	}
}

// readResponse reads one response (status line, headers, a body by
// Content-Length or chunked) and returns its status.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	st, _ := strconv.Atoi(f[1])
	length, chunked := 0, false
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return 0, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "content-length":
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		case "transfer-encoding":
			chunked = strings.Contains(strings.ToLower(v), "chunked")
		}
	}
	if chunked {
		for {
			sz, err := br.ReadString('\n')
			if err != nil {
				return 0, err
			}
			n, _ := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
			if _, err := io.CopyN(io.Discard, br, n+2); err != nil {
				return 0, err
			}
			if n == 0 {
				break
			}
		}
	} else if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
		return 0, err
	}
	return st, nil
}

func verdict(name string, ok bool, format string, args ...any) result {
	v := "FAIL"
	if ok {
		v = "PASS"
	}
	return result{name, v, fmt.Sprintf(format, args...)}
}

func refused(st []int) bool { return len(st) == 1 && st[0] >= 400 && st[0] < 500 }

// RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding
// is refused, or answered once with the connection closed after: the
// request hidden in its body is never served.
func smugglingCLTE() result {
	raw := "POST " + *path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	return verdict("smuggling-cl-te", err == nil && len(st) <= 1 && (closed || refused(st)), "responses %v, closed %v %v", st, closed, errText(err))
}

func duplicateCL() result {
	raw := "POST " + *path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc"
	st, closed, err := exchange(raw, 2*time.Second)
	return verdict("two-content-lengths", err == nil && refused(st), "responses %v, closed %v %v", st, closed, errText(err))
}

func badTE() result {
	raw := "POST " + *path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	ok := err == nil && len(st) == 1 && (st[0] == 400 || st[0] == 501)
	return verdict("unknown-transfer-coding", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

func badChunk() result {
	raw := "POST " + *path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	// The head may be answered before the body is read (the route ignores
	// bodies); what must not happen is a second response out of the junk.
	ok := err == nil && len(st) <= 1 && (closed || refused(st))
	return verdict("invalid-chunk-size", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

func hugeHeader() result {
	raw := "GET " + *path + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	st, closed, err := exchange(raw, 3*time.Second)
	ok := err == nil && (len(st) == 0 && closed || len(st) == 1 && (st[0] == 431 || st[0] == 400))
	return verdict("header-over-64KB", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

func hugeBody() result {
	body := strings.Repeat("a", 3<<20)
	raw := "POST " + *path + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	st, closed, err := exchange(raw, 3*time.Second)
	ok := err == nil && (len(st) == 0 && closed || len(st) >= 1 && st[0] == 413)
	return verdict("body-over-2.5MB", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

// An absolute-form target is served as its path (or refused): never a
// request to another host.
func absoluteForm() result {
	raw := "GET http://evil.example" + *path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	ok := err == nil && len(st) == 1 && (st[0] == 200 || st[0] == 400)
	return verdict("absolute-form", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

// %2F is not a path separator: /a%2Fb never reaches /a/b's route, and
// dot segments behind it do not climb.
func encodedSlash() result {
	raw := "GET " + *path + "%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	ok := err == nil && len(st) == 1 && (st[0] == 404 || st[0] == 400)
	return verdict("encoded-slash", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

// RFC 9112 §5.2: obsolete line folding is refused (or folded into one
// value): a folded line never becomes a header of its own.
func obsFold() result {
	raw := "GET " + *path + " HTTP/1.1\r\nHost: x\r\nX-A: a\r\n X-Injected: 1\r\nConnection: close\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	ok := err == nil && len(st) == 1 && (st[0] == 400 || st[0] == 200)
	return verdict("obs-fold", ok, "responses %v, closed %v %v (200 is acceptable only because the route echoes nothing)", st, closed, errText(err))
}

// A bare CR or a NUL inside a header value is refused: it is how a header
// gets split downstream.
func ctlInHeader() result {
	raw := "GET " + *path + " HTTP/1.1\r\nHost: x\r\nX-A: a\rX-Injected: 1\r\nConnection: close\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	raw2 := "GET " + *path + " HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n"
	st2, closed2, err2 := exchange(raw2, 2*time.Second)
	ok := err == nil && err2 == nil && (refused(st) || closed && len(st) == 0) && (refused(st2) || closed2 && len(st2) == 0)
	return verdict("cr-or-nul-in-header", ok, "bare CR: %v, NUL: %v", st, st2)
}

func garbageRequestLine() result {
	raw := "GET " + *path + " HTTP/1.1 extra\r\nHost: x\r\n\r\n"
	st, closed, err := exchange(raw, 2*time.Second)
	ok := err == nil && (refused(st) || closed && len(st) == 0)
	return verdict("bad-request-line", ok, "responses %v, closed %v %v", st, closed, errText(err))
}

func pipelining() result {
	one := "GET " + *path + " HTTP/1.1\r\nHost: x\r\n\r\n"
	st, _, err := exchange(one+one+strings.Replace(one, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1), 2*time.Second)
	return verdict("pipelining", err == nil && len(st) == 3 && st[0] == 200 && st[2] == 200, "responses %v %v", st, errText(err))
}

// 300 connections that trickle their heads do not keep a normal request
// from being answered at once.
func slowlorisCrowd() result {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 300 {
		c, err := net.DialTimeout("tcp", *addr, 2*time.Second)
		if err != nil {
			break
		}
		io.WriteString(c, "GET "+*path+" HTTP/1.1\r\nHost: x\r\nX-A: ")
		conns = append(conns, c)
	}
	start := time.Now()
	st, _, err := exchange("GET "+*path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3*time.Second)
	took := time.Since(start)
	return verdict("slowloris-others-served", err == nil && len(st) == 1 && st[0] == 200 && took < time.Second, "%d trickling, a normal request: %v in %v", len(conns), st, took.Round(time.Millisecond))
}

// A connection that sends one header byte per second is closed within the
// server's header timeout.
func slowloris() result {
	c, err := net.DialTimeout("tcp", *addr, 2*time.Second)
	if err != nil {
		return verdict("slowloris-cut", false, "%v", err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+*path+" HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	start := time.Now()
	var once sync.Once
	closed := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1024)
		for {
			c.SetReadDeadline(time.Now().Add(*slow + 5*time.Second))
			if _, err := c.Read(buf); err != nil {
				once.Do(func() { closed <- time.Since(start) })
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case d := <-closed:
			return verdict("slowloris-cut", d <= *slow, "closed after %v", d.Round(time.Second))
		case <-tick.C:
			if time.Since(start) > *slow {
				return verdict("slowloris-cut", false, "still open after %v", *slow)
			}
			if _, err := c.Write([]byte("a")); err != nil {
				d := time.Since(start)
				return verdict("slowloris-cut", d <= *slow, "closed after %v", d.Round(time.Second))
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// hangUp: a client that leaves while the backend works must not leave the
// server waiting for that backend; the backend's request is cancelled (its
// connection closed) at once. Otherwise clients that hang up pile work and
// connections onto the slowest dependency until its timeout.
func hangUp() result {
	const name = "client-hang-up"
	if *hangupPath == "" {
		return result{name, "SKIP", "no -hangup-path"}
	}
	arrived, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	ln, err := net.Listen("tcp", *hangupBackend)
	if err != nil {
		return result{name, "FAIL", "the slow backend: " + err.Error()}
	}
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(30 * time.Second):
		}
	})}
	go backend.Serve(ln)
	defer backend.Close()
	c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
	if err != nil {
		return result{name, "FAIL", err.Error()}
	}
	io.WriteString(c, "GET "+*hangupPath+" HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		c.Close()
		return result{name, "FAIL", "the request never reached the backend"}
	}
	left := time.Now()
	c.Close()
	select {
	case <-cancelled:
		return result{name, "PASS", fmt.Sprintf("backend call cancelled %s after the client left", time.Since(left).Round(100*time.Microsecond))}
	case <-time.After(5 * time.Second):
		return result{name, "FAIL", "the backend call still runs 5s after the client left"}
	}
}
