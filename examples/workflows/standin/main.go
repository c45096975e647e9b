// Command standin stands in, on one port, for the two Yandex Cloud services
// that examples/workflows calls: the IAM token endpoint, which exchanges
// the example's service account key (sa-key.json, trusted by nothing but
// this stand-in) for IAM tokens after checking the signed JWT exactly; and
// the Workflows API (execution/start and execution get), which demands such
// a token, as the real one does.
//
//	go run ./examples/workflows/standin            # 127.0.0.1:8083
//	go run ./examples/workflows/standin -listen 127.0.0.1:9000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/yc/yctest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8083", "listen address")
	keyFile := flag.String("key", "examples/workflows/sa-key.json", "the service account key the IAM stand-in trusts")
	flag.Parse()
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	iam := yctest.Standalone("http://" + ln.Addr().String())
	if err := iam.TrustKey(key); err != nil {
		log.Fatal(err)
	}
	wf := &workflows{iam: iam, executions: map[string]*execution{}}
	mux := http.NewServeMux()
	mux.Handle("POST /iam/v1/tokens", iam)
	mux.HandleFunc("POST /workflows/v1/execution/start", wf.start)
	mux.HandleFunc("GET /workflows/v1/execution/{id}", wf.get)
	log.Printf("IAM and Workflows stand-ins on http://%s", ln.Addr())
	log.Fatal(http.Serve(ln, logged(mux)))
}

// logged prints one line per request, with the caller's token shortened.
func logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if len(auth) > 16 {
			auth = auth[:16] + "..."
		}
		log.Printf("%s %s (Authorization: %q)", r.Method, r.URL.Path, auth)
		h.ServeHTTP(w, r)
	})
}

// workflows is the Workflows API, in memory.
type workflows struct {
	iam        *yctest.Server
	mu         sync.Mutex
	executions map[string]*execution
	n          int
}

// execution is what the API keeps of one run (a subset of the real one).
type execution struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflowId"`
	Input      struct {
		InputJSON string `json:"inputJson"`
	} `json:"input"`
	Status    string `json:"status"`
	StartedAt string `json:"startedAt"`
}

// authorized answers 401 unless the request carries an IAM token the IAM
// stand-in issued.
func (wf *workflows) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !wf.iam.ValidToken(tok) {
		answer(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "the request has no valid IAM token"})
		return false
	}
	return true
}

func (wf *workflows) start(w http.ResponseWriter, r *http.Request) {
	if !wf.authorized(w, r) {
		return
	}
	var e execution
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || e.WorkflowID == "" {
		answer(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "want {workflowId, input: {inputJson}}"})
		return
	}
	if !json.Valid([]byte(e.Input.InputJSON)) {
		answer(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "input.inputJson is not JSON"})
		return
	}
	wf.mu.Lock()
	wf.n++
	e.ID = fmt.Sprintf("exec-%d", wf.n)
	e.Status, e.StartedAt = "RUNNING", time.Now().UTC().Format(time.RFC3339)
	wf.executions[e.ID] = &e
	wf.mu.Unlock()
	answer(w, http.StatusOK, map[string]any{"executionId": e.ID})
}

func (wf *workflows) get(w http.ResponseWriter, r *http.Request) {
	if !wf.authorized(w, r) {
		return
	}
	wf.mu.Lock()
	e := wf.executions[r.PathValue("id")]
	wf.mu.Unlock()
	if e == nil {
		answer(w, http.StatusNotFound, map[string]any{"code": 5, "message": "no such execution"})
		return
	}
	answer(w, http.StatusOK, map[string]any{"execution": e})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
