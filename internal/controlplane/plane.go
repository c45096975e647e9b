// Package controlplane is the cloud's API Gateway API on apigw: gateways
// created, updated, stopped and deleted through the cloud's own gRPC and
// REST contract (yandex-cloud/cloudapi), kept in a Store, and served by
// the data plane as a gateway.Fleet that every change rebuilds.
//
// One direction of data flow, as for a spec file: a call is checked, its
// spec built into a snapshot (a spec that does not build changes
// nothing), the record written to the store, and only then the new fleet
// swapped in and the operation reported done. Other replicas hear of the
// change from the store and rebuild from it.
package controlplane

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/yamlx"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/protobuf/proto"
)

// BuildFunc compiles a gateway from its resource and spec text with the
// current bindings; errors are positioned against the spec text.
type BuildFunc func(g *apigateway.ApiGateway, spec string) (*gateway.Snapshot, yamlx.List)

// Options configure a Plane.
type Options struct {
	Store      Store
	BaseDomain string
	// Build compiles a gateway; Publish swaps a fleet into the data plane.
	Build   BuildFunc
	Publish func(*gateway.Fleet)
	// Bindings are the current bindings (certificates for domains).
	Bindings func() *config.Bindings
	Resync   time.Duration
	// MaxGateways caps the gateways (0: none).
	MaxGateways int
	Log         *slog.Logger
}

// Plane is the control plane of one process.
type Plane struct {
	opts Options
	// writes orders the store's writes with their installs, and a sync's
	// read of the store with what it installs: a sync that read the
	// state before a Delete cannot serve the deleted gateway again. A
	// call builds its snapshot before taking it.
	writes sync.Mutex
	// mu guards built, briefly (the console and the calls read it).
	mu    sync.Mutex
	built map[string]*built
	// stop ends follow; done says it has.
	stop chan struct{}
	done chan struct{}
}

// built is one gateway as this process serves it.
type built struct {
	rec  *Record
	key  string // what the snapshot was built from (buildKey)
	snap *gateway.Snapshot
	errs []string // the last build's errors (the snapshot may be older)
	cert map[string]*tls.Certificate
}

// New makes a plane; Start loads the state and starts following it.
func New(opts Options) *Plane {
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Second
	}
	return &Plane{opts: opts, built: map[string]*built{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start builds every stored gateway and serves them, then follows the
// store: on its change signal and every resync.
func (p *Plane) Start(ctx context.Context) error {
	if err := p.Sync(ctx, false); err != nil {
		return err
	}
	go p.follow()
	return nil
}

// Close stops following the store and closes it.
func (p *Plane) Close() error {
	close(p.stop)
	<-p.done
	return p.opts.Store.Close()
}

func (p *Plane) follow() {
	defer close(p.done)
	t := time.NewTicker(p.opts.Resync)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.opts.Store.Changed():
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := p.Sync(ctx, false); err != nil {
			p.opts.Log.Debug("control plane: sync failed; serving the last state", "error", err.Error())
		}
		cancel()
	}
}

// Sync reads the whole state and serves it: gateways whose build inputs
// changed are rebuilt (all of them with rebuild: the bindings changed),
// the others keep their snapshots.
func (p *Plane) Sync(ctx context.Context, rebuild bool) error {
	p.writes.Lock()
	defer p.writes.Unlock()
	recs, err := p.opts.Store.List(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	current := p.built
	p.mu.Unlock()
	next := make(map[string]*built, len(recs))
	for _, rec := range recs {
		id := rec.Gateway.Id
		old := current[id]
		key := buildKey(rec)
		if old != nil && old.key == key && !rebuild {
			b := *old
			b.rec = rec
			b.cert = p.certificates(rec.Gateway)
			next[id] = &b
			continue
		}
		snap, errs := p.opts.Build(rec.Gateway, rec.Spec)
		b := &built{rec: rec, key: key, snap: snap, cert: p.certificates(rec.Gateway)}
		if snap == nil {
			b.errs = messages(errs)
			if old != nil {
				b.snap = old.snap // keep serving what built before
			}
			p.opts.Log.Error("control plane: a gateway's spec does not build; it keeps its last snapshot", "gateway_id", id, "errors", b.errs)
		}
		next[id] = b
	}
	p.mu.Lock()
	p.built = next
	p.publish()
	p.mu.Unlock()
	return nil
}

// put writes a call's change and serves it, in the order of the writes
// and syncs of this process.
func (p *Plane) put(ctx context.Context, rec *Record, prev int64, op *operation.Operation, snap *gateway.Snapshot) error {
	p.writes.Lock()
	defer p.writes.Unlock()
	if err := p.opts.Store.Put(ctx, rec, prev, op); err != nil {
		return err
	}
	cert := p.certificates(rec.Gateway)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.built[rec.Gateway.Id] = &built{rec: rec, key: buildKey(rec), snap: snap, cert: cert}
	p.publish()
	return nil
}

// remove deletes a gateway and stops serving it.
func (p *Plane) remove(ctx context.Context, id string, op *operation.Operation) error {
	p.writes.Lock()
	defer p.writes.Unlock()
	if err := p.opts.Store.Delete(ctx, id, op); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.built, id)
	p.publish()
	return nil
}

// snapshotFor is the snapshot serving a gateway now, when it was built
// from the same inputs as rec (so Stop and Resume do not rebuild).
func (p *Plane) snapshotFor(rec *Record) *gateway.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.built[rec.Gateway.Id]; b != nil && b.key == buildKey(rec) {
		return b.snap
	}
	return nil
}

func (p *Plane) publish() {
	gws := make([]*gateway.FleetGateway, 0, len(p.built))
	for id, b := range p.built {
		g := b.rec.Gateway
		fg := &gateway.FleetGateway{ID: id, Snap: b.snap, Stopped: g.Status == apigateway.ApiGateway_STOPPED,
			Hosts: append([]string{g.Domain}, domainsOf(g)...), Certs: b.cert}
		gws = append(gws, fg)
	}
	p.opts.Publish(gateway.NewFleet(gws))
}

// certificates loads the certificates of a gateway's attached domains from
// the bindings (a certificate gone from them leaves its domain without
// HTTPS, logged).
func (p *Plane) certificates(g *apigateway.ApiGateway) map[string]*tls.Certificate {
	if len(g.AttachedDomains) == 0 {
		return nil
	}
	out := map[string]*tls.Certificate{}
	b := p.opts.Bindings()
	for _, d := range g.AttachedDomains {
		c := b.Certificates[d.CertificateId]
		if c == nil {
			p.opts.Log.Warn("control plane: an attached domain's certificate is not in the bindings; the domain has no HTTPS", "gateway_id", g.Id, "domain", d.Domain, "certificate_id", d.CertificateId)
			continue
		}
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			p.opts.Log.Warn("control plane: an attached domain's certificate does not load", "gateway_id", g.Id, "domain", d.Domain, "error", err.Error())
			continue
		}
		out[d.Domain] = &pair
	}
	return out
}

// buildKey is what a gateway's snapshot depends on: its spec, variables,
// canary and execution timeout (not its name, labels or status).
func buildKey(rec *Record) string {
	g := rec.Gateway
	inputs, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&apigateway.ApiGateway{
		Variables: g.Variables, Canary: g.Canary, ExecutionTimeout: g.ExecutionTimeout})
	return rec.Spec + "\x00" + string(inputs)
}

// Info is a gateway as the console lists it.
type Info struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	FolderID   string    `json:"folder_id"`
	Domain     string    `json:"domain"`
	Domains    []string  `json:"domains"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	Errors     []string  `json:"errors,omitempty"`
	Routes     int       `json:"routes"`
	Operations []OpInfo  `json:"operations,omitempty"`
}

// OpInfo is one operation as the console lists it.
type OpInfo struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	Done        bool      `json:"done"`
	Error       string    `json:"error,omitempty"`
}

// Gateways lists the gateways this process serves, and the last ten
// operations of the one named by withOps (from the store; none when it
// does not answer): one query per look, however many gateways.
func (p *Plane) Gateways(ctx context.Context, withOps string) []Info {
	p.mu.Lock()
	out := make([]Info, 0, len(p.built))
	for id, b := range p.built {
		g := b.rec.Gateway
		in := Info{ID: id, Name: g.Name, FolderID: g.FolderId, Domain: g.Domain, Domains: domainsOf(g),
			Status: g.Status.String(), CreatedAt: g.CreatedAt.AsTime(), Errors: b.errs}
		if b.snap != nil {
			in.Routes = len(b.snap.Routes())
		}
		out = append(out, in)
	}
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	for i := range out {
		if out[i].ID != withOps {
			continue
		}
		ops, err := p.opts.Store.Operations(ctx, out[i].ID)
		if err != nil {
			continue
		}
		for j, op := range ops {
			if j == 10 {
				break
			}
			oi := OpInfo{ID: op.Id, Description: op.Description, CreatedAt: op.CreatedAt.AsTime(), Done: op.Done}
			if e := op.GetError(); e != nil {
				oi.Error = e.Message
			}
			out[i].Operations = append(out[i].Operations, oi)
		}
	}
	return out
}

func messages(errs yamlx.List) []string {
	var out []string
	for _, e := range errs.Errors() {
		out = append(out, e.Error())
	}
	return out
}

// Len is the number of gateways served.
func (p *Plane) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.built)
}
