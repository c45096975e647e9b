package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/policy/validate"
)

// Runner sends an operation's cases to a gateway and checks the answers.
type Runner struct {
	BaseURL  string // http://127.0.0.1:8080, no trailing slash
	Client   *http.Client
	Header   http.Header // added to every request, over the generated credentials
	Seed     uint64
	MaxPerOp int
	// Parallel is how many operations run at once (default 8).
	Parallel int
	// MaxBody bounds the answer read for the checks (default 16 MiB).
	MaxBody int64
}

// Check is one verdict on one answer.
type Check struct {
	Name     string // status, body, headers, cors, rejects-invalid
	Pass     bool
	Problems []validate.Problem
}

// Result is one case, its answer and the checks on it.
type Result struct {
	Op       *Operation
	Case     Case
	Status   int
	Err      error // the request could not be made or answered
	Checks   []Check
	Duration time.Duration
}

// Failed reports whether any check failed.
func (r *Result) Failed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return true
		}
	}
	return false
}

// Run tests the operations and returns the results in the operations'
// order (cases in generation order), whatever order they ran in.
func (rn *Runner) Run(ctx context.Context, ops []*Operation) []Result {
	par := rn.Parallel
	if par <= 0 {
		par = 8
	}
	per := make([][]Result, len(ops))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, c := range op.Cases(rn.Seed, rn.MaxPerOp) {
				if ctx.Err() != nil {
					return
				}
				per[i] = append(per[i], rn.exec(ctx, op, c))
			}
		}()
	}
	wg.Wait()
	var out []Result
	for _, rs := range per {
		out = append(out, rs...)
	}
	return out
}

// corsOrigin is the Origin contract requests carry, so that a CORS rule
// shows in the answer.
const corsOrigin = "https://contract-test.apigw.invalid"

func (rn *Runner) exec(ctx context.Context, op *Operation, c Case) Result {
	res := Result{Op: op, Case: c}
	for k, v := range rn.Header {
		c.Header[k] = v
	}
	if op.origin != "" {
		c.Header.Set("Origin", op.origin)
	}
	res.Case = c
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, rn.BaseURL+c.Path, body)
	if err != nil {
		res.Err = err
		res.Checks = []Check{{Name: "request", Problems: []validate.Problem{{In: "request", Message: err.Error()}}}}
		return res
	}
	req.Header = c.Header.Clone()
	client := rn.Client
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := rn.send(ctx, client, req, c.Body)
	if err != nil {
		res.Err = err
		res.Duration = time.Since(start)
		res.Checks = []Check{{Name: "status", Problems: []validate.Problem{{In: "status", Message: "no answer: " + err.Error()}}}}
		return res
	}
	max := rn.MaxBody
	if max <= 0 {
		max = 16 << 20
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, max))
	resp.Body.Close()
	res.Duration = time.Since(start)
	res.Status = resp.StatusCode
	if err != nil {
		res.Checks = []Check{{Name: "body", Problems: []validate.Problem{{In: "body", Message: "the answer broke off: " + err.Error()}}}}
		return res
	}
	res.Checks = check(op, c, resp, answer)
	return res
}

// maxRateLimited is how many times a request answered 429 is sent again,
// after its Retry-After (at most 5 s, default 1 s): a rate limit is the
// gateway doing its job, not the contract failing.
const maxRateLimited = 3

func (rn *Runner) send(ctx context.Context, client *http.Client, req *http.Request, body []byte) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || attempt == maxRateLimited {
			return resp, err
		}
		wait := time.Second
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
			wait = min(time.Duration(secs)*time.Second, 5*time.Second)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		req = req.Clone(ctx)
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
}

// declares reports whether the operation declares a response for code
// itself (or its range), not only through default.
func (o *Operation) declares(code int) bool {
	if o.op.Responses == nil {
		return false
	}
	return o.op.Responses.Value(strconv.Itoa(code)) != nil || o.op.Responses.Value(fmt.Sprintf("%dXX", code/100)) != nil
}

// check judges one answer.
func check(op *Operation, c Case, resp *http.Response, body []byte) []Check {
	if c.Invalid {
		ch := Check{Name: "rejects-invalid", Pass: resp.StatusCode == http.StatusBadRequest}
		if !ch.Pass {
			ch.Problems = []validate.Problem{{In: "status", Message: fmt.Sprintf("got %d, want 400: the operation's validator should refuse %s", resp.StatusCode, strings.TrimPrefix(c.Name, "invalid: "))}}
		}
		return []Check{ch}
	}
	var status, bodyCheck, headers []validate.Problem
	switch code := resp.StatusCode; {
	case code >= 500:
		status = append(status, validate.Problem{In: "status", Message: fmt.Sprintf("%d from a valid request: %s", code, firstLine(body))})
	case (code == http.StatusUnauthorized || code == http.StatusForbidden) && !op.declares(code):
		status = append(status, validate.Problem{In: "status", Message: fmt.Sprintf("%d from a valid request: the authorizer refused the credential apigw test made up; give a real one with --header", code)})
	}
	for _, p := range op.checker.Contract(resp.StatusCode, resp.Header, body) {
		switch p.In {
		case "status":
			if len(status) == 0 {
				status = append(status, p)
			}
		case "header":
			headers = append(headers, p)
		default:
			if c.Method != http.MethodHead { // a HEAD answer has no body to check
				bodyCheck = append(bodyCheck, p)
			}
		}
	}
	out := []Check{
		{Name: "status", Pass: len(status) == 0, Problems: status},
		{Name: "body", Pass: len(bodyCheck) == 0, Problems: bodyCheck},
		{Name: "headers", Pass: len(headers) == 0, Problems: headers},
	}
	if op.origin != "" {
		ch := Check{Name: "cors", Pass: resp.Header.Get("Access-Control-Allow-Origin") != ""}
		if !ch.Pass {
			ch.Problems = []validate.Problem{{In: "header", Name: "Access-Control-Allow-Origin", Message: "missing for Origin " + op.origin + ", which the path's CORS rule allows"}}
		}
		out = append(out, ch)
	}
	return out
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Curl is the case as a command to paste into a shell.
func (r *Result) Curl(base string) string {
	var b strings.Builder
	b.WriteString("curl -i")
	if r.Case.Method != http.MethodGet {
		b.WriteString(" -X " + r.Case.Method)
	}
	b.WriteString(" " + shellQuote(base+r.Case.Path))
	keys := make([]string, 0, len(r.Case.Header))
	for k := range r.Case.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Case.Header[k] {
			b.WriteString(" -H " + shellQuote(k+": "+v))
		}
	}
	if r.Case.Body != nil {
		b.WriteString(" --data-binary " + shellQuote(string(r.Case.Body)))
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
