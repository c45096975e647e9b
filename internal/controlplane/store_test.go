package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/controlplane/pgtest"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgSeq    int
	pgMu     sync.Mutex
)

// newPostgresURL is a fresh database on the package's private server.
func newPostgresURL(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pgServer = pgtest.Start(&onceTB{t}) })
	if pgServer == nil {
		t.Fatal("the test PostgreSQL server did not start")
	}
	pgMu.Lock()
	pgSeq++
	name := fmt.Sprintf("cp%d_%d", os.Getpid(), pgSeq)
	pgMu.Unlock()
	return pgServer.CreateDB(t, name)
}

// onceTB lets the package's server outlive the test that started it:
// its cleanup runs at the end of the process instead (TestMain).
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(f func()) { cleanups = append(cleanups, f) }

var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

func stores(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"bolt": func(t *testing.T) Store {
			s, err := OpenBolt(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) Store {
			s, err := OpenPostgres(context.Background(), newPostgresURL(t), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func testRecord(id, folder, name string, domains ...string) *Record {
	g := &apigateway.ApiGateway{Id: id, FolderId: folder, Name: name, Status: apigateway.ApiGateway_ACTIVE, Domain: id + ".apigw.localhost",
		Labels: map[string]string{"k": "v"}}
	for _, d := range domains {
		g.AttachedDomains = append(g.AttachedDomains, &apigateway.AttachedDomain{DomainId: NewID("d5d"), Domain: d, Enabled: true})
	}
	return &Record{Gateway: g, Spec: "openapi: 3.0.0\n"}
}

func testOp(t *testing.T, id string) *operation.Operation {
	op, err := newOperation("test", &apigateway.CreateApiGatewayMetadata{ApiGatewayId: id}, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// TestStores runs one contract against both stores: what one keeps, the
// other keeps the same way, with the same errors.
func TestStores(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			a := testRecord(NewID("d5d"), "f1", "alpha", "a.example.com")
			op1 := testOp(t, a.Gateway.Id)
			if err := s.Put(ctx, a, 0, op1); err != nil {
				t.Fatal(err)
			}
			if a.Revision == 0 {
				t.Fatal("Put set no revision")
			}
			got, err := s.Get(ctx, a.Gateway.Id)
			if err != nil || !proto.Equal(got.Gateway, a.Gateway) || got.Spec != a.Spec || got.Revision != a.Revision {
				t.Fatalf("Get: %v %v", err, got)
			}
			for _, c := range []struct {
				name string
				rec  *Record
				prev int64
				want error
			}{
				{"the same id again", testRecord(a.Gateway.Id, "f1", "other"), 0, ErrConflict},
				{"a name taken in the folder", testRecord(NewID("d5d"), "f1", "alpha"), 0, ErrNameTaken},
				{"a domain attached elsewhere", testRecord(NewID("d5d"), "f2", "beta", "a.example.com"), 0, ErrDomainTaken},
				{"a stale revision", testRecord(a.Gateway.Id, "f1", "alpha"), a.Revision - 1, ErrConflict},
				{"an unknown gateway", testRecord(NewID("d5d"), "f1", "gamma"), 5, ErrNotFound},
			} {
				if err := s.Put(ctx, c.rec, c.prev, testOp(t, c.rec.Gateway.Id)); !errors.Is(err, c.want) {
					t.Errorf("%s: %v, want %v", c.name, err, c.want)
				}
			}
			// The same name in another folder, and an unnamed gateway twice.
			b := testRecord(NewID("d5d"), "f2", "alpha")
			if err := s.Put(ctx, b, 0, testOp(t, b.Gateway.Id)); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				u := testRecord(NewID("d5d"), "f1", "")
				if err := s.Put(ctx, u, 0, testOp(t, u.Gateway.Id)); err != nil {
					t.Fatal("unnamed:", err)
				}
			}
			// An update from the current revision; its domain moves.
			a2 := &Record{Gateway: proto.CloneOf(a.Gateway), Spec: "openapi: 3.0.1\n"}
			a2.Gateway.AttachedDomains[0].Domain = "b.example.com"
			op2 := testOp(t, a.Gateway.Id)
			if err := s.Put(ctx, a2, a.Revision, op2); err != nil || a2.Revision <= a.Revision {
				t.Fatalf("update: %v (revision %d after %d)", err, a2.Revision, a.Revision)
			}
			c := testRecord(NewID("d5d"), "f3", "c", "a.example.com") // the old domain is free again
			if err := s.Put(ctx, c, 0, testOp(t, c.Gateway.Id)); err != nil {
				t.Fatal(err)
			}
			all, err := s.List(ctx)
			if err != nil || len(all) != 5 {
				t.Fatalf("List: %v, %d records", err, len(all))
			}
			op3 := testOp(t, a.Gateway.Id)
			if err := s.Delete(ctx, a.Gateway.Id, op3); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, a.Gateway.Id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete: %v", err)
			}
			if err := s.Delete(ctx, a.Gateway.Id, testOp(t, a.Gateway.Id)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Delete twice: %v", err)
			}
			ops, err := s.Operations(ctx, a.Gateway.Id)
			if err != nil || len(ops) != 3 || ops[0].Id != op3.Id || ops[2].Id != op1.Id {
				t.Fatalf("operations, newest first: %v %v", err, ops)
			}
			got1, err := s.Operation(ctx, op1.Id)
			if err != nil || !proto.Equal(got1, op1) {
				t.Fatalf("Operation: %v\n%v\n%v", err, got1, op1)
			}
			if _, err := s.Operation(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown operation: %v", err)
			}
		})
	}
}

// TestBoltKeepsStateAcrossOpens: what was written before a close is there
// after; a second process on the same directory is refused.
func TestBoltKeepsStateAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := testRecord(NewID("d5d"), "f", "kept")
	if err := s.Put(context.Background(), r, 0, testOp(t, r.Gateway.Id)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBolt(dir); err == nil {
		t.Fatal("a second open of the same state_dir was allowed")
	}
	s.Close()
	s, err = OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(context.Background(), r.Gateway.Id)
	if err != nil || got.Gateway.Name != "kept" {
		t.Fatalf("after reopening: %v %v", err, got)
	}
}

// TestPostgresNotifiesOtherReplicas: a write through one store is
// signalled on another's Changed at once.
func TestPostgresNotifiesOtherReplicas(t *testing.T) {
	url := newPostgresURL(t)
	log := slog.New(slog.DiscardHandler)
	a, err := OpenPostgres(context.Background(), url, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgres(context.Background(), url, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// drain the signal each sends when it starts listening
	deadline := time.After(5 * time.Second)
	select {
	case <-b.Changed():
	case <-deadline:
	}
	r := testRecord(NewID("d5d"), "f", "n")
	if err := a.Put(context.Background(), r, 0, testOp(t, r.Gateway.Id)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Changed():
	case <-time.After(time.Minute):
		t.Fatal("no notification within a minute")
	}
}
