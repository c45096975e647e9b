// Command sampleevent prints the event the gateway sends for `GET /url`
// from wrk, for bench/functions to POST directly to the same endpoints.
package main

import (
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/apigw/apigw/internal/functions"
)

func main() {
	r := httptest.NewRequest("GET", "http://127.0.0.1:18094/url", nil)
	r.Header = map[string][]string{}
	ev, err := functions.Event(&functions.Request{
		HTTP: r, Version: "0.1", Template: "/url", RequestID: "0f61048c-0000-4000-8000-000000000001",
		ClientIP: "127.0.0.1", RemoteAddr: "127.0.0.1:50000", GatewayID: "apigw", Time: time.Now(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(ev))
}
