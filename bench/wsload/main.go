// Command wsload measures apigw's WebSocket side on loopback:
//
//	-mode idle:    opens -n connections, waits, and reports the gateway's
//	               resident memory per connection (from /proc/<pid>/status)
//	-mode echo:    -n connections send messages to a dummy message
//	               integration for -d; reports messages/s
//	-mode send:    one connection; -samples management-API Sends through
//	               -admin, REST and gRPC taking turns; reports p50/p99 of
//	               each form from the call to the message arriving
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apigw/apigw/internal/connectionapi/connectionpb"
	cws "github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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
		cc, err := grpc.NewClient(strings.TrimPrefix(*admin, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer cc.Close()
		rpc := connectionpb.NewConnectionServiceClient(cc)
		forms := []struct {
			name string
			send func() error
			lat  []time.Duration
		}{
			{name: "REST", send: func() error {
				r, err := http.Post(*admin+"/apigateways/websocket/v1/connections/"+id+":send", "application/json", strings.NewReader(`{"data":"aGVsbG8=","type":"TEXT"}`))
				if err != nil {
					return err
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != 200 {
					return fmt.Errorf("status %d", r.StatusCode)
				}
				return nil
			}},
			{name: "gRPC", send: func() error {
				_, err := rpc.Send(ctx, &connectionpb.SendToConnectionRequest{ConnectionId: id, Data: []byte("hello"), Type: connectionpb.SendToConnectionRequest_TEXT})
				return err
			}},
		}
		// Turns, so that both forms see the same machine; the first
		// round of each warms its connection and is not counted.
		for i := -1; i < *samples; i++ {
			for f := range forms {
				t0 := time.Now()
				if err := forms[f].send(); err != nil {
					log.Fatalf("%s send: %v", forms[f].name, err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					log.Fatal(err)
				}
				if i >= 0 {
					forms[f].lat = append(forms[f].lat, time.Since(t0))
				}
			}
		}
		for _, f := range forms {
			lat := f.lat
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			fmt.Printf("send via %s, %s: p50 %.3f ms, p99 %.3f ms over %d Sends\n", *admin, f.name,
				float64(lat[len(lat)/2].Microseconds())/1000, float64(lat[len(lat)*99/100].Microseconds())/1000, *samples)
		}
	}
}
