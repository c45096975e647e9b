package gateway

import (
	"sync"

	"github.com/apigw/apigw/internal/conncap"
)

// wsSlots counts open WebSocket connections, in total and per client
// address, against the caps (0: none). A slot is taken before the connect
// integration runs, so that a burst of upgrades cannot pass the cap
// between the check and the 101.
type wsSlots struct {
	mu       sync.Mutex
	max      int
	maxPerIP int
	open     int
	byIP     map[string]int // only addresses with open connections
}

// SetWebSocketCaps sets the WebSocket caps (before serving).
func (h *Handler) SetWebSocketCaps(total, perIP int) {
	h.wsSlots.mu.Lock()
	h.wsSlots.max, h.wsSlots.maxPerIP = total, perIP
	h.wsSlots.mu.Unlock()
}

// take reserves a slot for ip, or says which cap refused it.
func (s *wsSlots) take(ip string) (ok bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.max > 0 && s.open >= s.max:
		conncap.Refused.WithLabelValues("websocket").Inc()
		return false, "the gateway holds as many WebSocket connections as it may"
	case s.maxPerIP > 0 && s.byIP[ip] >= s.maxPerIP:
		conncap.Refused.WithLabelValues("websocket_per_ip").Inc()
		return false, "this address holds as many WebSocket connections as it may"
	}
	if s.byIP == nil {
		s.byIP = map[string]int{}
	}
	s.open++
	s.byIP[ip]++
	return true, ""
}

// release gives a slot back.
func (s *wsSlots) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	if s.byIP[ip]--; s.byIP[ip] <= 0 {
		delete(s.byIP, ip)
	}
}
