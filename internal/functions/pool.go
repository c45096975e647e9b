package functions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/yc"
)

// Pool hands out the invoker of each function binding. It outlives
// snapshots: a reload that keeps a binding keeps its warm process.
type Pool struct {
	Log *slog.Logger
	// CloudAPI, when set, gives the intercept of the cloud's connection
	// API to the processes of bindings that want it (made on first use).
	CloudAPI func() (CloudAPI, error)

	client *http.Client

	mu     sync.Mutex
	gen    int // the build generation (see Generation)
	used   map[*Process]int
	procs  map[string]*Process
	tokens *yc.Tokens
}

// NewPool returns an empty pool whose invokers send through rt (the
// gateway's upstream transport: pooled, no goroutine hand-offs) and take
// IAM tokens from tokens (nil: a cache of the pool's own).
func NewPool(rt http.RoundTripper, tokens *yc.Tokens) *Pool {
	client := &http.Client{Transport: rt}
	if tokens == nil {
		tokens = yc.NewTokens(client)
	}
	return &Pool{Log: slog.Default(), client: client, procs: map[string]*Process{}, used: map[*Process]int{}, tokens: tokens}
}

// CloudAPI is what a function process gets so that its calls to the
// cloud's connection API reach apigw (package intercept).
type CloudAPI interface {
	// Env is the binding's environment with the intercept's variables.
	Env(functionID string, env map[string]string) map[string]string
	// Token is the IAM token the handler's context carries.
	Token() string
}

// Invoker returns the invoker of a binding for a function ID. maxAnswer is
// the largest function answer accepted; intercept asks for CloudAPI on a
// process the pool starts.
func (p *Pool) Invoker(id string, f *config.Function, maxAnswer int64, account *yc.TokenSource, intercept bool) (Invoker, error) {
	header := map[string]string{HeaderVersion: f.Version}
	if f.MemoryMB > 0 {
		header[HeaderMemory] = strconv.Itoa(f.MemoryMB)
	}
	if f.URL != "" {
		return &URLInvoker{URL: f.URL, Client: p.client, MaxAnswer: maxAnswer, Header: header}, nil
	}
	if f.Yandex != nil {
		y := f.Yandex
		tokens := account
		if y.HasKey() {
			var err error
			if tokens, err = p.tokens.Source(y.ServiceAccountKeyFile, y.ServiceAccountKeyEnv, y.IAMEndpoint); err != nil {
				return nil, err
			}
		}
		if tokens == nil {
			return nil, errors.New("its yandex binding has no key (service_account_key_file or _env), and the spec names no service account bound under service_accounts")
		}
		endpoint := f.Yandex.FunctionsEndpoint
		if endpoint == "" {
			endpoint = DefaultFunctionsEndpoint
		}
		return &YandexInvoker{Endpoint: endpoint, Tokens: tokens,
			URLInvoker: URLInvoker{Client: p.client, MaxAnswer: maxAnswer, Header: header}}, nil
	}
	if f.Token != "" {
		header[HeaderToken] = f.Token
	}
	fenv := f.Env
	if intercept && p.CloudAPI != nil {
		if api, err := p.CloudAPI(); err == nil {
			fenv = api.Env(id, f.Env)
			if f.Token == "" {
				header[HeaderToken] = api.Token()
			}
		}
	}
	command := f.Command
	var env []string
	if f.Runtime != "" {
		var err error
		if command, err = AdapterCommand(f.Runtime); err != nil {
			return nil, err
		}
		env = append(env, "APIGW_HANDLER="+f.Handler, "APIGW_DIR="+f.Dir)
	}
	keys := make([]string, 0, len(fenv))
	for k := range fenv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+fenv[k])
	}
	identity, _ := json.Marshal([]any{id, command, f.Dir, env, header, maxAnswer})
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.procs[string(identity)]
	if !ok {
		pr = &Process{FunctionID: id, Command: command, Dir: f.Dir, Env: env, Header: header, MaxAnswer: maxAnswer, Log: p.Log, Client: p.client}
		p.procs[string(identity)] = pr
	}
	p.used[pr] = p.gen
	return pr, nil
}

// Processes describes the local function processes the pool holds, with
// the output lines each printed after seq, sorted by function ID.
func (p *Pool) Processes(seq int64) []ProcessInfo {
	p.mu.Lock()
	procs := make([]*Process, 0, len(p.procs))
	for _, pr := range p.procs {
		procs = append(procs, pr)
	}
	p.mu.Unlock()
	out := make([]ProcessInfo, 0, len(procs))
	for _, pr := range procs {
		out = append(out, pr.Info(seq))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FunctionID < out[j].FunctionID })
	return out
}

// NextGeneration starts a build: processes the build asks for are marked,
// so that Settle can stop the ones the new snapshot no longer binds.
func (p *Pool) NextGeneration() {
	p.mu.Lock()
	p.gen++
	p.mu.Unlock()
}

// Settle is called once a build serves: processes it did not ask for are
// stopped, and the ones it did are started in the background, so that the
// first request does not wait for an interpreter and a broken handler shows
// up in the log at once.
func (p *Pool) Settle() {
	p.mu.Lock()
	var stop, warm []*Process
	for key, pr := range p.procs {
		if p.used[pr] == p.gen {
			warm = append(warm, pr)
			continue
		}
		stop = append(stop, pr)
		delete(p.procs, key)
		delete(p.used, pr)
	}
	p.mu.Unlock()
	for _, pr := range stop {
		p.Log.Info("stopping the process of a function the spec no longer binds this way", "function_id", pr.FunctionID)
		go pr.Retire(time.Minute)
	}
	for _, pr := range warm {
		go pr.ensure(context.Background())
	}
}

// Close stops every process.
func (p *Pool) Close() {
	p.mu.Lock()
	procs := p.procs
	p.procs = map[string]*Process{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); pr.Close() }()
	}
	wg.Wait()
}
