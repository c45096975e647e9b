package websocket

import "github.com/prometheus/client_golang/prometheus"

// The WebSocket metrics, after the cloud's (digest §9.5): open connections,
// disconnections, and messages and their payload bytes by direction ("in"
// from clients, "out" to them) and type (text or binary). The server
// registers Collectors.
var (
	openConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "apigw_websocket_connections", Help: "Open WebSocket connections.",
	})
	disconnections = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "apigw_websocket_disconnections_total", Help: "WebSocket connections that ended, whoever ended them.",
	})
	messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apigw_websocket_messages_total", Help: "WebSocket messages, by direction (in: from clients, out: to them) and type (text or binary).",
	}, []string{"direction", "type"})
	payloadBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apigw_websocket_message_bytes_total", Help: "WebSocket message payload bytes, by direction and type.",
	}, []string{"direction", "type"})
	droppedMessages = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "apigw_websocket_dropped_messages_total", Help: "Messages to clients refused because the connection's outbound queue was full.",
	})
)

const (
	dirIn = iota
	dirOut
)

// messageSeries are the counters of each direction and type, looked up
// once: a message costs two atomic adds.
var messageSeries = func() (s [2][2]struct{ messages, bytes prometheus.Counter }) {
	for d, dir := range []string{"in", "out"} {
		for t, typ := range []string{"text", "binary"} {
			s[d][t].messages = messages.WithLabelValues(dir, typ)
			s[d][t].bytes = payloadBytes.WithLabelValues(dir, typ)
		}
	}
	return s
}()

// countMessage counts one message of op with n payload bytes.
func countMessage(dir int, op Opcode, n int) {
	t := 0
	if op != OpText {
		t = 1
	}
	s := &messageSeries[dir][t]
	s.messages.Inc()
	s.bytes.Add(float64(n))
}

// Collectors are the package's metrics, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{openConnections, disconnections, messages, payloadBytes, droppedMessages}
}
