// Command attack repeats, for a bounded time each, the attacks and faults
// the gateway must hold under (issue 14), against one apigw process, and
// prints its heap, goroutines, file descriptors and the error counts before
// and after. bench/soak builds apigw and runs it.
//
//	go run ./bench/attack -apigw bench/out/apigw -phase 15s
//
// The phases: a flood of distinct 8 KB rate-limit keys; a key server that
// stalls while valid and forged JWTs arrive; WebSocket clients that never
// read while broadcasts go out; the shared Redis frozen (SIGSTOP) under
// load; WebSocket connections opened past the caps. Redis, the key server
// and the backend are started here, on loopback.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cws "github.com/coder/websocket"
)

var (
	apigwBin = flag.String("apigw", "bench/out/apigw", "the apigw binary")
	phase    = flag.Duration("phase", 15*time.Second, "how long each attack runs")
	workers  = flag.Int("c", 32, "concurrent clients per HTTP attack")
	dump     = flag.Bool("dump", false, "print the gateway's goroutines and sockets at the end, and save its heap profile")
	only     = flag.String("phases", "keys,jwks,readers,redis,conns,console,mock,jq,function", "which phases to run, comma-separated")
)

// enabled says whether a phase was asked for.
func enabled(name string) bool {
	for _, p := range strings.Split(*only, ",") {
		if strings.TrimSpace(p) == name {
			return true
		}
	}
	return false
}

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "apigw-soak")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	redisAddr, redisProc := startRedis(dir)
	defer redisProc.Process.Kill()
	keys := newKeyServer()
	backend := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	api, admin := freePort(), freePort()
	spec := fmt.Sprintf(`openapi: 3.0.0
info: {title: soak, version: "1"}
x-yc-apigateway:
  smartWebSecurity: {securityProfileId: per-key}
components:
  securitySchemes:
    jwt:
      type: openIdConnect
      x-yc-apigateway-authorizer:
        type: jwt
        jwksUri: %s/jwks
        identitySource: {in: header, name: Authorization, prefix: "Bearer "}
        jwkTtlInSeconds: 1
paths:
  /up:
    get:
      x-yc-apigateway-integration: {type: http, url: '%s/'}
  /limited:
    get:
      x-yc-apigateway-rate-limit: {allRequests: {rps: 200}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /jwt:
    get:
      security: [{jwt: []}]
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /ws:
    x-yc-apigateway-websocket-connect:
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ''}}
`, keys.url, backend) + surfaceRoutes(backend)
	spec = strings.Replace(spec, "components:\n", "components:"+surfaceSchemas, 1)
	bindings := fmt.Sprintf(`log: {access: false}
redis: {url: 'redis://%s', prefix: 'soak:'}
security_profiles:
  per-key: {rate_limit: {rps: 100000, key: 'header:X-Api-Key'}}
auth: {jwks_fetch_timeout: 2s, jwks_min_refresh: 5s}
websocket: {write_timeout: 2s, max_connections: 2000, max_connections_per_ip: 100000}
limits: {drain_delay: 0s}
`, redisAddr) + surfaceBindings(dir)
	os.WriteFile(filepath.Join(dir, "printer.py"), []byte(printer), 0o644)
	os.WriteFile(filepath.Join(dir, "api.yaml"), []byte(spec), 0o644)
	os.WriteFile(filepath.Join(dir, "apigw.yaml"), []byte(bindings), 0o644)
	gw := exec.Command(*apigwBin, "serve", "--spec", filepath.Join(dir, "api.yaml"), "--config", filepath.Join(dir, "apigw.yaml"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", api), "--admin", fmt.Sprintf("127.0.0.1:%d", admin))
	gwLog, _ := os.Create(filepath.Join(dir, "apigw.log"))
	gw.Stderr = gwLog
	if err := gw.Start(); err != nil {
		log.Fatal(err)
	}
	defer gw.Process.Kill()
	base, adminURL := fmt.Sprintf("http://127.0.0.1:%d", api), fmt.Sprintf("http://127.0.0.1:%d", admin)
	waitOK(adminURL + "/readyz")
	get(base+"/up", nil) // warm up pools

	before := stats(adminURL)
	fmt.Printf("apigw soak: %v per phase, %d clients, pid %d\n\n", *phase, *workers, gw.Process.Pid)
	fmt.Printf("%-22s %9s %9s %8s %8s %s\n", "phase", "requests", "errors", "p99 ms", "max ms", "notes")

	// 1. Distinct 8 KB keys for a per-key rate limit.
	if enabled("keys") {
		report("8 KB key flood", hammer(base+"/up", *workers, func(h http.Header) func(int) bool {
			h.Set("X-Api-Key", randomKey(8<<10))
			return okOr(200, 429)
		}), "")
	}

	// 2. The key server stalls once the gateway holds its keys: tokens
	// with the known kid must keep passing from the cache.
	if enabled("jwks") {
		valid := keys.token("k1")
		if code := get(base+"/jwt", http.Header{"Authorization": {"Bearer " + valid}}); code != 200 {
			log.Fatalf("a valid token before the stall: %d", code)
		}
		fetched := keys.fetches.Load()
		keys.stall.Store(true)
		var n atomic.Int64
		var forged result
		done := make(chan struct{})
		go func() {
			// An unknown kid waits for the refresh under way (it may be a
			// key just rotated in), at most jwks_fetch_timeout, and then
			// learns the key set is unavailable (500) or the kid unknown (401).
			defer close(done)
			forged = hammer(base+"/jwt", *workers/4, func(h http.Header) func(int) bool {
				h.Set("Authorization", "Bearer "+keys.token(fmt.Sprintf("forged-%d", n.Add(1))))
				return okOr(401, 500)
			})
		}()
		r := hammer(base+"/jwt", *workers, func(h http.Header) func(int) bool {
			h.Set("Authorization", "Bearer "+valid)
			return okOr(200)
		})
		<-done
		keys.stall.Store(false)
		report("  valid tokens", r, fmt.Sprintf("key server stalled; %d JWKS fetches meanwhile", keys.fetches.Load()-fetched))
		report("  forged kids", forged, "wait for the stalled refresh, at most jwks_fetch_timeout")
	}

	// 3. WebSocket clients that never read, and broadcasts.
	if enabled("readers") {
		report("slow WebSocket readers", slowReaders(base, adminURL), "")
	}

	// 4. Redis frozen (SIGSTOP) for half the phase, under load.
	if enabled("redis") {
		recovered := make(chan time.Duration, 1)
		go func() {
			time.Sleep(*phase / 4)
			redisProc.Process.Signal(syscall.SIGSTOP)
			time.Sleep(*phase / 2)
			redisProc.Process.Signal(syscall.SIGCONT)
			thaw := time.Now()
			for time.Since(thaw) < *phase && metrics(adminURL)["apigw_redis_available"] != 1 {
				time.Sleep(20 * time.Millisecond)
			}
			recovered <- time.Since(thaw)
		}()
		r := hammer(base+"/limited", *workers, func(http.Header) func(int) bool { return okOr(200, 429) })
		report("Redis frozen", r, fmt.Sprintf("for %v; limits fail open; answering %v after the thaw", *phase/2, (<-recovered).Round(time.Millisecond)))
	}

	// 5. WebSocket connections past the caps.
	if enabled("conns") {
		report("connection flood", connectionFlood(base, adminURL), "")
	}

	// 6-9. The console's records, the mock's generator, a jq mapping and
	// a local function's output under hostile inputs (issue 24).
	surfaces(base, adminURL)

	// The attackers' own keep-alive connections would show as the
	// gateway's goroutines and descriptors: close them, then let the
	// gateway notice.
	client.CloseIdleConnections()
	time.Sleep(3 * time.Second)
	after := stats(adminURL)
	if *dump {
		if res, err := client.Get(adminURL + "/debug/pprof/heap"); err == nil {
			f, _ := os.Create("bench/out/soak-heap.pprof")
			io.Copy(f, res.Body)
			f.Close()
			res.Body.Close()
			fmt.Println("heap profile: go tool pprof -sample_index=inuse_space -top bench/out/soak-heap.pprof")
		}
		res, err := client.Get(adminURL + "/debug/pprof/goroutine?debug=1")
		if err == nil {
			io.Copy(os.Stdout, res.Body)
			res.Body.Close()
		}
		out, _ := exec.Command("ss", "-tanp").Output()
		var mine []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, fmt.Sprintf("pid=%d,", gw.Process.Pid)) {
				mine = append(mine, l)
			}
		}
		out = []byte(strings.Join(mine, "\n") + "\n")
		os.Stdout.Write(out)
	}
	fmt.Printf("\n%-22s %12s %12s\n", "gateway", "before", "after")
	for _, k := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines", "process_open_fds", "process_resident_memory_bytes", "apigw_connections_refused_total", "apigw_websocket_dropped_messages_total", "apigw_websocket_connections", "apigw_redis_available"} {
		fmt.Printf("%-40s %14s %14s\n", k, human(k, before[k]), human(k, after[k]))
	}
	logSummary(filepath.Join(dir, "apigw.log"))
	fmt.Println("\nOpen descriptors after include the idle pooled connections to the backend and")
	fmt.Println("Redis, each bounded by its pool; -dump lists them with the goroutines.")
}

// result is one attack's tally.
type result struct {
	requests, errors int64
	lat              []time.Duration
	note             string
}

func report(name string, r result, note string) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	p99, worst := time.Duration(0), time.Duration(0)
	if n := len(r.lat); n > 0 {
		p99, worst = r.lat[n*99/100], r.lat[n-1]
	}
	if r.note != "" {
		note = strings.TrimSpace(note + " " + r.note)
	}
	fmt.Printf("%-22s %9d %9d %8.1f %8.1f %s\n", name, r.requests, r.errors, ms(p99), ms(worst), note)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func okOr(codes ...int) func(int) bool {
	return func(c int) bool {
		for _, ok := range codes {
			if c == ok {
				return true
			}
		}
		return false
	}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// hammer sends requests from -c clients for a phase; prepare sets each
// request's headers and returns which answers count as right for it.
func hammer(url string, clients int, prepare func(http.Header) func(int) bool) result {
	var mu sync.Mutex
	var r result
	deadline := time.Now().Add(*phase)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n, bad int64
			for time.Now().Before(deadline) {
				h := http.Header{}
				ok := prepare(h)
				start := time.Now()
				code := get(url, h)
				lat = append(lat, time.Since(start))
				n++
				if !ok(code) {
					bad++
				}
			}
			mu.Lock()
			r.requests += n
			r.errors += bad
			r.lat = append(r.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return r
}

func get(url string, h http.Header) int {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if h != nil {
		req.Header = h
	}
	res, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func randomKey(n int) string {
	b := make([]byte, n*3/4)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// slowReaders opens 50 clients that never read and 5 that do, and
// broadcasts 120 KB messages for a phase: the healthy clients must get
// every one, whole, quickly.
func slowReaders(base, admin string) result {
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	var stuck []net.Conn
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			continue
		}
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		stuck = append(stuck, c)
	}
	defer func() {
		for _, c := range stuck {
			c.Close()
		}
	}()
	var r result
	var mu sync.Mutex
	sent := map[int]time.Time{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), *phase+5*time.Second)
	defer cancel()
	for i := 0; i < 5; i++ {
		c, _, err := cws.Dial(ctx, ws, nil)
		if err != nil {
			r.errors++
			continue
		}
		c.SetReadLimit(1 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				var n int
				fmt.Sscanf(string(msg[:16]), "%d", &n)
				mu.Lock()
				if t, ok := sent[n]; ok {
					r.lat = append(r.lat, time.Since(t))
				}
				if len(msg) != 120<<10 {
					r.errors++
				}
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(*phase)
	for n := 0; time.Now().Before(deadline); n++ {
		msg := bytes.Repeat([]byte{'x'}, 120<<10)
		copy(msg, fmt.Sprintf("%-16d", n))
		mu.Lock()
		sent[n] = time.Now()
		mu.Unlock()
		body, _ := json.Marshal(map[string]string{"path": "/ws", "data": base64.StdEncoding.EncodeToString(msg), "type": "BINARY"})
		res, err := client.Post(admin+"/apigateways/websocket/v1/broadcast", "application/json", bytes.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			r.errors++
		} else {
			res.Body.Close()
		}
		r.requests++
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	r.note = fmt.Sprintf("%d deliveries to 5 healthy clients", len(r.lat))
	return r
}

// connectionFlood opens WebSocket connections until the cap refuses 100,
// then checks the gateway still answers.
func connectionFlood(base, admin string) result {
	var r result
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	refused := 0
	deadline := time.Now().Add(*phase)
	for refused < 100 && time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 2*time.Second)
		if err != nil {
			r.errors++
			continue
		}
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		r.requests++
		switch {
		case err != nil:
			r.errors++
			c.Close()
		case res.StatusCode == 101:
			conns = append(conns, c)
		case res.StatusCode == 503:
			refused++
			c.Close()
		default:
			r.errors++
			r.note = fmt.Sprintf("unexpected %d", res.StatusCode)
			c.Close()
		}
	}
	for _, u := range []string{admin + "/healthz", base + "/up"} {
		start := time.Now()
		if code := get(u, nil); code != 200 {
			r.errors++
		}
		r.lat = append(r.lat, time.Since(start))
	}
	r.note = strings.TrimSpace(fmt.Sprintf("%d open, %d refused (503); /healthz and /up timed %s", len(conns), refused, r.note))
	return r
}

// keyServer is a JWKS endpoint that can stall.
type keyServer struct {
	url     string
	key     *rsa.PrivateKey
	stall   atomic.Bool
	fetches atomic.Int64
}

func newKeyServer() *keyServer {
	k := &keyServer{}
	k.key, _ = rsa.GenerateKey(rand.Reader, 2048)
	enc := base64.RawURLEncoding
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "k1", "n": enc.EncodeToString(k.key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.key.E)).Bytes())},
	}})
	k.url = serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		if k.stall.Load() {
			time.Sleep(20 * time.Second)
		}
		w.Write(jwks)
	}))
	return k
}

func (k *keyServer) token(kid string) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"sub": "soak", "exp": time.Now().Add(time.Hour).Unix()})
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	return signing + "." + enc.EncodeToString(sig)
}

func serve(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, h)
	return "http://" + ln.Addr().String()
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startRedis(dir string) (string, *exec.Cmd) {
	port := freePort()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		log.Fatalf("redis-server: %v (install Debian's redis-server)", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("redis-server did not start")
	return "", nil
}

func waitOK(url string) {
	for i := 0; i < 200; i++ {
		if get(url, nil) == 200 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("%s did not answer", url)
}

// stats reads the gauges and counters of interest from /metrics (summing
// the series of a labelled counter).
func stats(admin string) map[string]float64 {
	// A collection first, so that the heap figure is what is live.
	if res, err := client.Get(admin + "/debug/pprof/heap?gc=1"); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return metrics(admin)
}

// metrics reads /metrics.
func metrics(admin string) map[string]float64 {
	res, err := client.Get(admin + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		var v float64
		fmt.Sscanf(value, "%g", &v)
		out[name] += v
	}
	return out
}

// logSummary prints how many times the gateway logged each message.
func logSummary(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	counts, order := map[string]int{}, []string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct{ Level, Msg, Error string }
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg == "" {
			continue
		}
		k := line.Level + " " + line.Msg
		if line.Error != "" {
			k += " (" + line.Error + ")"
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	fmt.Println("\ngateway log")
	for _, k := range order {
		fmt.Printf("%6d× %s\n", counts[k], k)
	}
}

func human(name string, v float64) string {
	if strings.HasSuffix(name, "_bytes") {
		return fmt.Sprintf("%.1f MB", v/(1<<20))
	}
	return fmt.Sprintf("%.0f", v)
}
