package server

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/controlplane"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
	"github.com/prometheus/client_golang/prometheus"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
)

// emptySpec serves when the control plane runs without --spec: every
// host that no created gateway answers to gets 404.
const emptySpec = "openapi: 3.0.0\ninfo: {title: apigw control plane, version: '1'}\npaths: {}\n"

// startControlPlane opens the store, builds and serves every stored
// gateway, and starts the control plane's listener.
func (s *Server) startControlPlane(ctx context.Context, b *config.Bindings) (stop func(), err error) {
	cp := b.ControlPlane
	var store controlplane.Store
	if cp.Database != "" {
		store, err = controlplane.OpenPostgres(ctx, cp.Database, s.log)
	} else {
		store, err = controlplane.OpenBolt(cp.StateDir)
	}
	if err != nil {
		return nil, err
	}
	plane := controlplane.New(controlplane.Options{
		Store: store, BaseDomain: cp.BaseDomain, Build: s.buildManaged, Publish: s.handler.SetFleet,
		Bindings: s.currentBindings, Resync: cp.Resync.D(), MaxGateways: cp.MaxGateways, Log: s.log,
	})
	if err := plane.Start(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("control plane: reading the stored gateways: %w", err)
	}
	ln, err := controlplane.Listen(plane, cp, s.connections, s.log)
	if err != nil {
		plane.Close()
		return nil, err
	}
	s.plane = plane
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "apigw_control_plane_gateways", Help: "Gateways created through the control plane that this process serves.",
	}, func() float64 { return float64(plane.Len()) }))
	go func() {
		if err := ln.Serve(); err != nil {
			s.log.Error("control plane listener stopped", "error", err.Error())
		}
	}()
	where := "state_dir " + cp.StateDir
	if cp.Database != "" {
		where = "PostgreSQL"
	}
	attrs := []any{"addr", ln.Address, "gateways", plane.Len(), "state", where, "base_domain", cp.BaseDomain}
	if ln.CAFile != "" {
		attrs = append(attrs, "ca", ln.CAFile, "clients", "export SSL_CERT_FILE="+ln.CAFile)
	}
	s.log.Info("control plane: the cloud's API Gateway API (gRPC and REST)", attrs...)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ln.Close(ctx)
		plane.Close()
	}, nil
}

// buildManaged compiles a created gateway with the current bindings: its
// own variables, canary and execution timeout, its ID as gateway_id.
func (s *Server) buildManaged(g *apigateway.ApiGateway, text string) (snap *gateway.Snapshot, errs yamlx.List) {
	defer func() {
		if p := recover(); p != nil {
			snap = nil
			errs.Errorf(nil, "", "apigw failed building this spec (a bug; please report it with the spec): %v", p)
		}
	}()
	base := s.currentBindings()
	b := *base // the bindings are shared; this gateway's own settings on a copy
	b.GatewayID = g.Id
	b.Canary, b.Domains = nil, nil
	if t := g.ExecutionTimeout; t != nil {
		d := config.Duration(t.AsDuration())
		b.Limits.ExecutionTimeout = &d
	}
	// Its own variables only: --var is for --spec, and a created
	// gateway's values are what its Create and Update said.
	vars := variableValues(g.Variables)
	doc, errs := spec.Load(controlplane.SpecFile, []byte(text), vars)
	if doc == nil {
		return nil, errs
	}
	snap, e := gateway.Build(doc, &b, s.deps)
	errs = append(errs, e...)
	if c := g.Canary; c != nil && c.Weight > 0 && snap != nil {
		cvars := maps.Clone(vars)
		maps.Copy(cvars, variableValues(c.Variables))
		cdoc, ce := spec.Load(controlplane.SpecFile, []byte(text), cvars)
		var csnap *gateway.Snapshot
		if cdoc != nil {
			var be yamlx.List
			csnap, be = gateway.Build(cdoc, &b, s.deps)
			ce = append(ce, be...)
		}
		for _, err := range ce.Errors() {
			err.Msg = "canary release: " + err.Msg
			errs = append(errs, err)
		}
		if csnap != nil {
			snap.SetCanary(csnap, int(c.Weight), false)
		}
	}
	errs = errs.Dedup()
	errs.Sort()
	if errs.Err() != nil {
		return nil, errs
	}
	return snap, errs
}

// variableValues are typed variables as the spec substitutes them.
func variableValues(vs map[string]*apigateway.VariableInput) map[string]string {
	out := make(map[string]string, len(vs))
	for k, v := range vs {
		switch x := v.GetVariableValue().(type) {
		case *apigateway.VariableInput_StringValue:
			out[k] = x.StringValue
		case *apigateway.VariableInput_IntValue:
			out[k] = strconv.FormatInt(x.IntValue, 10)
		case *apigateway.VariableInput_DoubleValue:
			out[k] = strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		case *apigateway.VariableInput_BoolValue:
			out[k] = strconv.FormatBool(x.BoolValue)
		}
	}
	return out
}
