package websocket

import (
	"context"
	"sync"
	"testing"
)

// TestHubGatewayIDAcrossReloads: a reload sets the gateway_id while the
// management API reads connections; Get reports the current one, and
// under -race the two do not race.
func TestHubGatewayIDAcrossReloads(t *testing.T) {
	h := NewHub("gw-1")
	h.Add(&Conn{ID: "c1", closed: make(chan struct{})})
	if info, err := h.Get(context.Background(), "c1"); err != nil || info.GatewayID != "gw-1" {
		t.Fatalf("Get = %+v, %v; want gatewayId gw-1", info, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			h.SetGatewayID("gw-2")
		}
	})
	for range 1000 {
		if info, _ := h.Get(context.Background(), "c1"); info.GatewayID != "gw-1" && info.GatewayID != "gw-2" {
			t.Fatalf("gatewayId %q", info.GatewayID)
		}
	}
	wg.Wait()
	if info, _ := h.Get(context.Background(), "c1"); info.GatewayID != "gw-2" {
		t.Errorf("after the reload gatewayId is %q, want gw-2", info.GatewayID)
	}
}
