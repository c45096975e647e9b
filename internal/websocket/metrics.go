package websocket

import "github.com/prometheus/client_golang/prometheus"

// The WebSocket metrics: open connections, and messages and bytes by
// direction ("in" from clients, "out" to them). The server registers
// Collectors.
var (
	openConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "apigw_websocket_connections", Help: "Open WebSocket connections.",
	})
	messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apigw_websocket_messages_total", Help: "WebSocket messages, by direction (in: from clients, out: to them).",
	}, []string{"direction"})
	payloadBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apigw_websocket_message_bytes_total", Help: "WebSocket message payload bytes, by direction.",
	}, []string{"direction"})
	messagesIn, messagesOut = messages.WithLabelValues("in"), messages.WithLabelValues("out")
	bytesIn, bytesOut       = payloadBytes.WithLabelValues("in"), payloadBytes.WithLabelValues("out")
)

// Collectors are the package's metrics, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{openConnections, messages, payloadBytes}
}
