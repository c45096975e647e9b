// Command wsload measures apigw's WebSocket side on loopback:
//
//	-mode idle:    opens -n connections, waits, and reports the gateway's
//	               resident memory per connection (from /proc/<pid>/status)
//	-mode echo:    -n connections send messages to a dummy message
//	               integration for -d; reports messages/s
//	-mode send:    one connection; -samples management-API Sends through
//	               -admin; reports p50/p99 from POST to the message arriving
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cws "github.com/coder/websocket"
)

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			return kb
		}
	}
	return 0
}

func main() {
	mode := flag.String("mode", "idle", "idle, echo or send")
	url := flag.String("url", "ws://127.0.0.1:18114/ws", "WebSocket URL")
	admin := flag.String("admin", "http://127.0.0.1:18115", "admin URL (send mode)")
	n := flag.Int("n", 1000, "connections")
	pid := flag.Int("pid", 0, "gateway pid (idle mode)")
	d := flag.Duration("d", 5*time.Second, "duration (echo mode)")
	samples := flag.Int("samples", 500, "Sends (send mode)")
	flag.Parse()
	ctx := context.Background()
	dial := func() *cws.Conn {
		for try := 0; ; try++ {
			c, res, err := cws.Dial(ctx, *url, nil)
			if err == nil {
				c.SetReadLimit(1 << 20)
				return c
			}
			if try > 20 {
				log.Fatalf("dial: %v", err)
			}
			_ = res
			time.Sleep(50 * time.Millisecond)
		}
	}
	switch *mode {
	case "idle":
		before := rssKB(*pid)
		conns := make([]*cws.Conn, 0, *n)
		for i := 0; i < *n; i++ {
			conns = append(conns, dial())
		}
		// A collection first (through the admin listener's pprof), so that
		// garbage from the handshakes does not count as connection memory.
		if r, err := http.Get(*admin + "/debug/pprof/heap?gc=1"); err == nil {
			r.Body.Close()
		}
		time.Sleep(2 * time.Second)
		after := rssKB(*pid)
		fmt.Printf("idle %d connections: gateway RSS %d MB -> %d MB, %.1f KiB per connection\n",
			*n, before/1024, after/1024, float64(after-before)/float64(*n))
		for _, c := range conns {
			c.CloseNow()
		}
	case "echo":
		var count atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(*d)
		for i := 0; i < *n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dial()
				defer c.CloseNow()
				for time.Now().Before(stop) {
					if c.Write(ctx, cws.MessageText, []byte("ping")) != nil {
						return
					}
					if _, _, err := c.Read(ctx); err != nil {
						return
					}
					count.Add(1)
				}
			}()
		}
		wg.Wait()
		fmt.Printf("echo: %d connections, %.0f messages/s (request and answer) over %s\n", *n, float64(count.Load())/d.Seconds(), *d)
	case "send":
		c, res, err := cws.Dial(ctx, *url, nil)
		if err != nil {
			log.Fatal(err)
		}
		id := res.Header.Get("X-Yc-Apigateway-Websocket-Connection-Id")
		lat := make([]time.Duration, 0, *samples)
		body := []byte(`{"data":"aGVsbG8=","type":"TEXT"}`)
		for i := 0; i < *samples; i++ {
			t0 := time.Now()
			r, err := http.Post(*admin+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", bytes.NewReader(body))
			if err != nil || r.StatusCode != 200 {
				log.Fatalf("send: %v %v", r, err)
			}
			r.Body.Close()
			if _, _, err := c.Read(ctx); err != nil {
				log.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Printf("send via %s: p50 %.2f ms, p99 %.2f ms over %d Sends\n", *admin,
			float64(lat[len(lat)/2].Microseconds())/1000, float64(lat[len(lat)*99/100].Microseconds())/1000, *samples)
	}
}
