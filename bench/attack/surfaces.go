package main

// The surfaces of issue 24: one request must not cost the process its
// memory, its life or its CPU through the console's records, the mock's
// generator, a jq mapping or a local function's output. Each phase sends
// the hostile inputs of the issue for a phase's time; the report gives the
// gateway's CPU during the phase and in the two seconds after it (nothing
// may run on once the clients have their answers), and the memory figures
// at the end show what the console's ring and the function's output kept.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// surfaceRoutes are the spec's paths for these phases (backend: the soak's
// backend URL).
func surfaceRoutes(backend string) string {
	return fmt.Sprintf(`
  /echo:
    post:
      x-yc-apigateway-integration: {type: http, url: '%[1]s/'}
  /validated:
    post:
      x-yc-apigateway-validator: {validateRequestBody: true}
      requestBody:
        content:
          application/json: {schema: {type: array, items: {type: integer}}}
      x-yc-apigateway-integration: {type: dummy, http_code: 200, content: {'*': ok}}
  /tree:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-mock}
      responses:
        '200':
          description: a schema that requires itself
          content:
            application/json: {schema: {$ref: '#/components/schemas/Node'}}
  /grid:
    get:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-mock}
      responses:
        '200':
          description: nested minItems of 4,096
          content:
            application/json:
              schema: {type: array, minItems: 4096, items: {type: array, minItems: 4096, items: {type: array, minItems: 4096, items: {type: string, minLength: 4096}}}}
  /names:
    post:
      requestBody:
        content:
          application/json:
            schema: {x-yc-schema-mapping: {type: static, template: {name: '${.name | gsub(" "; "_")}'}}}
      x-yc-apigateway-integration: {type: http, url: '%[1]s/'}
  /print:
    post:
      x-yc-apigateway-integration: {type: cloud_functions, function_id: fn-print}
`, backend)
}

// surfaceSchemas are the components the routes use.
const surfaceSchemas = `
  schemas:
    Node:
      type: object
      required: [name, parent]
      properties:
        name: {type: string}
        parent: {description: the parent, allOf: [{$ref: '#/components/schemas/Node'}]}
`

// surfaceBindings binds the mocked and the local function (a handler that
// prints its event, as many do) in dir.
func surfaceBindings(dir string) string {
	return fmt.Sprintf("functions:\n  fn-mock: {mock: true}\n  fn-print: {runtime: python, handler: printer.handler, dir: '%s', timeout: 20s}\n", dir)
}

const printer = `import json


def handler(event, context):
    print(json.dumps(event))
    return {"statusCode": 200, "body": "printed %d" % len(event.get("body") or "")}
`

// hostile bodies, made once.
var (
	deep20   = []byte(strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000))
	deep60   = []byte(strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000))
	flat64   = []byte("[" + strings.Repeat("1,", 32_000) + "1]")
	badArray = []byte("[" + strings.Repeat(`"x",`, 600_000) + `"x"]`) // 2.4 MB, every item wrong
	spaces   = []byte(`{"name":"` + strings.Repeat("ab ", 800_000) + `"}`)
	words    = []byte(`{"name":"` + strings.Repeat("ab ", 20_000) + `"}`)
	event    = bytes.Repeat([]byte("e"), 1_200_000)
)

// surfacePhase posts (or gets) the requests next picks, from clients
// goroutines, for a phase, and reports the gateway's CPU during it and in
// the two seconds after.
func surfacePhase(name, admin string, clients int, next func(i int) (method, url string, body []byte, h http.Header, ok func(int) bool)) {
	cpu0 := metrics(admin)["process_cpu_seconds_total"]
	var mu sync.Mutex
	var r result
	var n atomic.Int64
	deadline := time.Now().Add(*phase)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				method, url, body, h, ok := next(int(n.Add(1)))
				req, _ := http.NewRequest(method, url, bytes.NewReader(body))
				if h != nil {
					req.Header = h
				}
				start := time.Now()
				code := 0
				if res, err := surfaceClient.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					code = res.StatusCode
				}
				d := time.Since(start)
				mu.Lock()
				r.requests++
				r.lat = append(r.lat, d)
				if !ok(code) {
					r.errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cpu1 := metrics(admin)["process_cpu_seconds_total"]
	time.Sleep(2 * time.Second)
	cpu2 := metrics(admin)["process_cpu_seconds_total"]
	stats(admin) // pools keep what they held through one collection
	m := stats(admin)
	report(name, r, fmt.Sprintf("CPU %.1f s in the phase, %.2f s in the 2 s after; then heap %s, RSS %s",
		cpu1-cpu0, cpu2-cpu1, human("go_memstats_heap_inuse_bytes", m["go_memstats_heap_inuse_bytes"]), human("process_resident_memory_bytes", m["process_resident_memory_bytes"])))
}

// surfaceClient waits longer than the soak's own: a hostile request may
// rightly take a while to be refused.
var surfaceClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// surfaces runs the phases of issue 24 that were asked for.
func surfaces(base, admin string) {
	jsonType := http.Header{"Content-Type": {"application/json"}}
	if enabled("console") {
		bodies := []struct {
			path string
			body []byte
		}{{"/echo", deep20}, {"/echo", deep60}, {"/echo", flat64}, {"/validated", badArray}}
		surfacePhase("console records", admin, *workers/4, func(i int) (string, string, []byte, http.Header, func(int) bool) {
			b := bodies[i%len(bodies)]
			return "POST", base + b.path, b.body, jsonType.Clone(), okOr(200, 400)
		})
	}
	if enabled("mock") {
		surfacePhase("mock generator", admin, *workers/4, func(i int) (string, string, []byte, http.Header, func(int) bool) {
			path := []string{"/tree", "/grid"}[i%2]
			return "GET", base + path, nil, http.Header{"Prefer": {"dynamic=true"}}, okOr(200, 502)
		})
	}
	if enabled("jq") {
		surfacePhase("jq gsub on 2.4 MB", admin, *workers/4, func(i int) (string, string, []byte, http.Header, func(int) bool) {
			if i%2 == 0 {
				return "POST", base + "/names", spaces, jsonType.Clone(), okOr(500)
			}
			// 20,000 matches: mapped (200), or stopped at the budget (500)
			// when the 2.4 MB ones keep both cores busy.
			return "POST", base + "/names", words, jsonType.Clone(), okOr(200, 500)
		})
	}
	if enabled("function") {
		surfacePhase("function prints 1.2 MB", admin, 2, func(int) (string, string, []byte, http.Header, func(int) bool) {
			return "POST", base + "/print", event, http.Header{"Content-Type": {"application/octet-stream"}}, okOr(200)
		})
	}
}
