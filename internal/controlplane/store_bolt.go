package controlplane

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	bolt "go.etcd.io/bbolt"
)

// boltStore is the embedded store of one process: one bbolt file in the
// state directory. bbolt is a single-file B+tree with fsync on every
// commit and no background work, a dependency of etcd: a write returns
// once it is on disk, so an operation reported done survives a crash.
// (SQLite through modernc.org/sqlite would share SQL with PostgreSQL, but
// compiles a 200,000-line translation of C into every build.)
type boltStore struct {
	db *bolt.DB
}

var (
	bucketGateways   = []byte("gateways")
	bucketOperations = []byte("operations")
	bucketGatewayOps = []byte("gateway_operations") // gateway id, 0, revision (8 bytes) → operation id
	// The unique keys, as PostgreSQL's indexes: folder id, 0, name → gateway
	// id; attached domain → gateway id.
	bucketNames   = []byte("names")
	bucketDomains = []byte("domains")
)

func nameKey(folder, name string) []byte { return []byte(folder + "\x00" + name) }

// boltRecord is a gateway as the file keeps it.
type boltRecord struct {
	Revision int64           `json:"revision"`
	Spec     string          `json:"spec"`
	Gateway  json.RawMessage `json:"gateway"`
}

// OpenBolt opens (or makes) state.db in dir. A second apigw on the same
// directory is refused at once: bbolt locks the file.
func OpenBolt(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "state.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 1e9})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s is in use by another apigw process (for several replicas, use control_plane.database)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketGateways, bucketOperations, bucketGatewayOps, bucketNames, bucketDomains} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltStore{db: db}, nil
}

func (s *boltStore) List(ctx context.Context) ([]*Record, error) {
	var out []*Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGateways).ForEach(func(k, v []byte) error {
			rec, err := decodeBoltRecord(v)
			if err != nil {
				return fmt.Errorf("gateway %s: %w", k, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

func (s *boltStore) Get(ctx context.Context, id string) (*Record, error) {
	var rec *Record
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketGateways).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		rec, err = decodeBoltRecord(v)
		return err
	})
	return rec, err
}

func decodeBoltRecord(v []byte) (*Record, error) {
	var br boltRecord
	if err := json.Unmarshal(v, &br); err != nil {
		return nil, err
	}
	g, err := decodeGateway(br.Gateway)
	if err != nil {
		return nil, err
	}
	return &Record{Gateway: g, Spec: br.Spec, Revision: br.Revision}, nil
}

func (s *boltStore) Put(ctx context.Context, rec *Record, prev int64, op *operation.Operation) error {
	g := rec.Gateway
	return s.db.Update(func(tx *bolt.Tx) error {
		gws := tx.Bucket(bucketGateways)
		cur := gws.Get([]byte(g.Id))
		var old *Record
		switch {
		case prev == 0 && cur != nil:
			return ErrConflict
		case prev != 0 && cur == nil:
			return ErrNotFound
		case prev != 0:
			var err error
			if old, err = decodeBoltRecord(cur); err != nil {
				return err
			}
			if old.Revision != prev {
				return ErrConflict
			}
		}
		// The folder's names and every gateway's domains are unique: the
		// old keys go, the new ones must be free.
		names, domains := tx.Bucket(bucketNames), tx.Bucket(bucketDomains)
		if old != nil {
			if old.Gateway.Name != "" {
				names.Delete(nameKey(old.Gateway.FolderId, old.Gateway.Name))
			}
			for _, d := range domainsOf(old.Gateway) {
				domains.Delete([]byte(d))
			}
		}
		if g.Name != "" {
			if names.Get(nameKey(g.FolderId, g.Name)) != nil {
				return ErrNameTaken
			}
			if err := names.Put(nameKey(g.FolderId, g.Name), []byte(g.Id)); err != nil {
				return err
			}
		}
		for _, d := range domainsOf(g) {
			if domains.Get([]byte(d)) != nil {
				return ErrDomainTaken
			}
			if err := domains.Put([]byte(d), []byte(g.Id)); err != nil {
				return err
			}
		}
		seq, err := gws.NextSequence()
		if err != nil {
			return err
		}
		rec.Revision = int64(seq)
		gj, err := encodeGateway(g)
		if err != nil {
			return err
		}
		v, err := json.Marshal(boltRecord{Revision: rec.Revision, Spec: rec.Spec, Gateway: gj})
		if err != nil {
			return err
		}
		if err := gws.Put([]byte(g.Id), v); err != nil {
			return err
		}
		return putOperation(tx, g.Id, rec.Revision, op)
	})
}

func putOperation(tx *bolt.Tx, gatewayID string, seq int64, op *operation.Operation) error {
	b, err := encodeOperation(op)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOperations).Put([]byte(op.Id), b); err != nil {
		return err
	}
	key := make([]byte, 0, len(gatewayID)+9)
	key = append(key, gatewayID...)
	key = append(key, 0)
	key = binary.BigEndian.AppendUint64(key, uint64(seq))
	return tx.Bucket(bucketGatewayOps).Put(key, []byte(op.Id))
}

func (s *boltStore) Delete(ctx context.Context, id string, op *operation.Operation) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		gws := tx.Bucket(bucketGateways)
		cur := gws.Get([]byte(id))
		if cur == nil {
			return ErrNotFound
		}
		old, err := decodeBoltRecord(cur)
		if err != nil {
			return err
		}
		if old.Gateway.Name != "" {
			tx.Bucket(bucketNames).Delete(nameKey(old.Gateway.FolderId, old.Gateway.Name))
		}
		for _, d := range domainsOf(old.Gateway) {
			tx.Bucket(bucketDomains).Delete([]byte(d))
		}
		if err := gws.Delete([]byte(id)); err != nil {
			return err
		}
		seq, err := gws.NextSequence()
		if err != nil {
			return err
		}
		return putOperation(tx, id, int64(seq), op)
	})
}

func (s *boltStore) Operation(ctx context.Context, id string) (*operation.Operation, error) {
	var op *operation.Operation
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOperations).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		op, err = decodeOperation(v)
		return err
	})
	return op, err
}

func (s *boltStore) Operations(ctx context.Context, gatewayID string) ([]*operation.Operation, error) {
	var out []*operation.Operation
	prefix := append([]byte(gatewayID), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketGatewayOps).Cursor()
		ops := tx.Bucket(bucketOperations)
		for k, v := c.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
			b := ops.Get(v)
			if b == nil {
				continue
			}
			op, err := decodeOperation(b)
			if err != nil {
				return err
			}
			out = append(out, op)
		}
		return nil
	})
	// newest first
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

func (s *boltStore) Changed() <-chan struct{} { return nil }

func (s *boltStore) Close() error { return s.db.Close() }
