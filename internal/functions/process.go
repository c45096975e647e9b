package functions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Process runs a function's adapter (the shipped Python or Node.js one, or
// a user's command speaking the same protocol) as a child process: started
// on first use, kept warm across invocations and reloads, restarted when it
// dies, its output in the gateway log under the function ID.
type Process struct {
	FunctionID string
	Command    []string
	Dir        string
	Env        []string // added to the gateway's environment
	Header     map[string]string
	MaxAnswer  int64
	Log        *slog.Logger
	Client     *http.Client // nil: a default one
	// StartTimeout bounds the wait for a (re)started process to be ready.
	StartTimeout time.Duration

	inflight    atomic.Int64
	invocations atomic.Int64
	turn        chan struct{} // one invocation at a time, as a cloud instance
	output      outputRing    // the last lines it printed, for the console

	mu     sync.Mutex
	run    *running // nil: not started, or exited
	closed bool
	starts int
}

type running struct {
	cmd    *exec.Cmd
	addr   string
	ready  chan struct{} // closed when /healthz answers
	exited chan struct{} // closed when the process is gone
	err    error         // why it exited (set before exited closes)
	inv    *URLInvoker
	tail   *tailBuffer
	// abandoned: stopped for not answering; the next invocation starts
	// another without waiting for this one to be gone.
	abandoned atomic.Bool
}

// abandon stops a process that does not answer: SIGTERM to its group,
// SIGKILL if it is still there 3 seconds later.
func (p *Process) abandon(r *running) {
	if r.abandoned.Swap(true) {
		return
	}
	terminate(r.cmd)
	go func() {
		select {
		case <-r.exited:
		case <-time.After(3 * time.Second):
			kill(r.cmd)
		}
	}()
}

var defaultClient = &http.Client{Transport: &http.Transport{
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     90 * time.Second,
	DisableCompression:  true,
}}

func (p *Process) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return defaultClient
}

// Invoke implements Invoker.
func (p *Process) Invoke(ctx context.Context, inv *Invocation) ([]byte, error) {
	p.invocations.Add(1)
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	// The adapter runs one invocation at a time; waiting here, with the
	// request's deadline, costs less than a connection per waiting request.
	select {
	case p.turnChan() <- struct{}{}:
		defer func() { <-p.turn }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r, err := p.ensure(ctx)
	if err != nil {
		return nil, err
	}
	out, err := r.inv.Invoke(ctx, inv)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// It did not answer in time. The adapter serves one invocation
		// at a time, so a handler that never returns would hold every
		// later call until its deadline: the cloud ends such an instance,
		// and so does apigw (the next invocation starts a fresh one).
		p.Log.Warn("function did not answer within its deadline; its process is restarted", "function_id", p.FunctionID, "pid", r.cmd.Process.Pid)
		p.abandon(r)
		return nil, err
	}
	if err != nil {
		var fe *FunctionError
		if !errors.As(err, &fe) && ctx.Err() == nil {
			select {
			case <-r.exited:
				return nil, fmt.Errorf("function process exited during the invocation (%v); it restarts on the next request: %s", r.err, r.tail.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return out, err
}

func (p *Process) turnChan() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.turn == nil {
		p.turn = make(chan struct{}, 1)
	}
	return p.turn
}

// ensure returns a ready process, starting one if needed.
func (p *Process) ensure(ctx context.Context) (*running, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("function process is shut down")
	}
	r := p.run
	if r != nil {
		select {
		case <-r.exited:
			r = nil
		default:
			if r.abandoned.Load() {
				r = nil
			}
		}
	}
	if r == nil {
		var err error
		if r, err = p.start(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.run = r
	}
	p.mu.Unlock()

	wait := p.startTimeout()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-r.ready:
		return r, nil
	case <-r.exited:
		return nil, fmt.Errorf("function process exited while starting (%v): %s", r.err, r.tail.String())
	case <-timer.C:
		return nil, fmt.Errorf("function process did not become ready within %s", wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start launches the process (p.mu held).
func (p *Process) start() (*running, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.Command[0], p.Command[1:]...)
	cmd.Dir = p.Dir
	cmd.Env = append(append(os.Environ(), p.Env...), "APIGW_ADAPTER_PORT="+strconv.Itoa(port), "APIGW_FUNCTION_ID="+p.FunctionID)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", p.Command[0], err)
	}
	p.starts++
	addr := "127.0.0.1:" + strconv.Itoa(port)
	r := &running{
		cmd: cmd, addr: addr, ready: make(chan struct{}), exited: make(chan struct{}), tail: &tailBuffer{},
		inv: &URLInvoker{URL: "http://" + addr + "/invoke", Client: p.client(), MaxAnswer: p.MaxAnswer, Header: p.Header},
	}
	log := p.Log.With("function_id", p.FunctionID, "pid", cmd.Process.Pid)
	log.Info("function process started", "command", strings.Join(p.Command, " "), "dir", p.Dir, "start", p.starts)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { defer pipes.Done(); pipeLog(stdout, log, "stdout", nil, &p.output) }()
	go func() { defer pipes.Done(); pipeLog(stderr, log, "stderr", r.tail, &p.output) }()
	go func() {
		pipes.Wait()
		r.err = cmd.Wait()
		close(r.exited)
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			log.Warn("function process exited; it restarts on the next invocation", "error", fmt.Sprint(r.err))
		}
	}()
	go p.waitReady(r)
	return r, nil
}

// waitReady polls /healthz until the adapter answers. One that neither
// answers nor exits within the start timeout is stopped, so that the next
// invocation starts a fresh one instead of waiting on it forever.
func (p *Process) waitReady(r *running) {
	deadline := time.Now().Add(p.startTimeout())
	for {
		select {
		case <-r.exited:
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Log.Warn("function process did not become ready; stopping it", "function_id", p.FunctionID, "timeout", p.startTimeout().String())
			terminate(r.cmd)
			return
		}
		res, err := p.client().Get("http://" + r.addr + "/healthz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				close(r.ready)
				return
			}
		}
	}
}

func (p *Process) startTimeout() time.Duration {
	if p.StartTimeout > 0 {
		return p.StartTimeout
	}
	return 30 * time.Second
}

// Retire stops the process once the invocations in flight have finished
// (or grace has passed): a reload lets them complete on the old snapshot.
func (p *Process) Retire(grace time.Duration) {
	deadline := time.Now().Add(grace)
	for p.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	p.Close()
}

// Close stops the process (and its children).
func (p *Process) Close() {
	p.mu.Lock()
	p.closed = true
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return
	}
	terminate(r.cmd)
	select {
	case <-r.exited:
	case <-time.After(3 * time.Second):
		kill(r.cmd)
		<-r.exited
	}
}

// Starts reports how many times the process was started (for tests and
// metrics: a warm process is started once).
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// maxLogLine is the longest line logged as one: a longer one is logged
// in pieces of this size.
const maxLogLine = 64 << 10

// pipeLog logs each line a function writes, as the cloud's function logs
// do, and keeps the last lines of stderr for error messages. It reads to
// the end whatever the lines' length: a reader that stopped at a long
// line (a handler printing its event of a megabyte) left the pipe full,
// the handler blocked on its next print, and the function answered
// nothing ever again.
func pipeLog(r io.Reader, log *slog.Logger, stream string, tail *tailBuffer, out *outputRing) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			line := strings.TrimRight(string(piece), "\r\n")
			log.Info("function output", "stream", stream, "line", line)
			out.add(stream, line)
			if tail != nil {
				tail.add(line)
			}
		}
		if err != nil && err != bufio.ErrBufferFull { // EOF: the process closed it
			return
		}
	}
}

// clip returns the first n bytes of s (cut at a character's start) as a
// string of its own: a slice of a long line would keep all of it.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

// tailBuffer keeps the last few lines written.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, clip(line, 512))
	if len(t.lines) > 8 {
		t.lines = t.lines[len(t.lines)-8:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(t.lines, " | ")
}

// running reports whether the process is up and ready.
func (p *Process) running() bool {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	case <-r.ready:
		return true
	default:
		return false
	}
}

// OutputLine is one line a function process printed.
type OutputLine struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // stdout or stderr
	Text   string    `json:"text"`
}

// outputRing keeps the last lines a process printed (over its restarts):
// at most maxOutputLines of maxOutputLine bytes, about 2 MB a process.
type outputRing struct {
	mu    sync.Mutex
	lines [maxOutputLines]OutputLine // line seq is at (seq-1) % maxOutputLines
	seq   int64
}

// maxOutputLines is how many lines a process's ring keeps; a line is cut
// at maxOutputLine bytes.
const (
	maxOutputLines = 500
	maxOutputLine  = 4096
)

func (o *outputRing) add(stream, text string) {
	text = clip(text, maxOutputLine)
	o.mu.Lock()
	o.seq++
	o.lines[(o.seq-1)%maxOutputLines] = OutputLine{Seq: o.seq, Time: time.Now(), Stream: stream, Text: text}
	o.mu.Unlock()
}

// since returns the kept lines after seq, oldest first.
func (o *outputRing) since(seq int64) []OutputLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []OutputLine{}
	for n := max(seq, o.seq-maxOutputLines) + 1; n <= o.seq; n++ {
		out = append(out, o.lines[(n-1)%maxOutputLines])
	}
	return out
}

// ProcessInfo is a local function process as the console shows it.
type ProcessInfo struct {
	FunctionID  string       `json:"functionId"`
	Command     []string     `json:"command"`
	Dir         string       `json:"dir"`
	Handler     string       `json:"handler,omitempty"`
	PID         int          `json:"pid,omitempty"`
	State       string       `json:"state"` // running, starting, stopped
	Starts      int          `json:"starts"`
	Restarts    int          `json:"restarts"`
	Invocations int64        `json:"invocations"`
	Output      []OutputLine `json:"output"`
}

// Info describes the process, with the lines it printed after seq.
func (p *Process) Info(seq int64) ProcessInfo {
	info := ProcessInfo{FunctionID: p.FunctionID, Command: p.Command, Dir: p.Dir, Handler: p.handler(),
		Invocations: p.invocations.Load(), Output: p.output.since(seq), State: "stopped"}
	p.mu.Lock()
	info.Starts = p.starts
	r := p.run
	p.mu.Unlock()
	info.Restarts = max(info.Starts-1, 0)
	if r != nil {
		select {
		case <-r.exited:
		case <-r.ready:
			info.State, info.PID = "running", r.cmd.Process.Pid
		default:
			info.State, info.PID = "starting", r.cmd.Process.Pid
		}
	}
	return info
}

// handler is the runtime binding's handler ("index.handler"), "" for a
// command of the user's.
func (p *Process) handler() string {
	for _, kv := range p.Env {
		if h, ok := strings.CutPrefix(kv, "APIGW_HANDLER="); ok {
			return h
		}
	}
	return ""
}
