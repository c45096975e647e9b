// Package apigwgw gives the prototypes that keep apigw's own pipeline
// (nbio, bridge) the gateway as `apigw serve` builds it: the spec and
// bindings loaded into a snapshot, served by gateway.Handler, warnings and
// worse logged.
package apigwgw

import (
	"log"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/server"
)

// Load builds the gateway of spec and bindings, or exits with the spec's
// errors.
func Load(spec, bindings string) *gateway.Handler {
	snap, errs := server.Load(server.Options{SpecFile: spec, ConfigFile: bindings}, integration.NewDeps())
	if errs.Err() != nil {
		log.Fatal(errs.Error())
	}
	h := gateway.NewHandler(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), gateway.NewMetrics(prometheus.NewRegistry()))
	h.Swap(snap)
	return h
}
