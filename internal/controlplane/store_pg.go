package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
)

// pgStore keeps the gateways in PostgreSQL for a fleet of replicas. Every
// write notifies the channel apigw_state in its own transaction (so the
// notification goes out on commit); every replica listens and rebuilds,
// and re-reads the whole state every resync in case a notification was
// missed (a replica that was cut off).
type pgStore struct {
	pool    *pgxpool.Pool
	url     string
	log     *slog.Logger
	changed chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// callTimeout bounds every call to PostgreSQL: a control call never
// hangs on a database that stopped answering.
const callTimeout = 5 * time.Second

const pgChannel = "apigw_state"

// The same records as the embedded store: the resource as protobuf JSON
// and the spec as text; the columns beside them are what the database
// must check (unique names per folder, unique domains) or look up.
const pgSchema = `
CREATE TABLE IF NOT EXISTS apigw_gateways (
  id        text PRIMARY KEY,
  folder_id text NOT NULL,
  name      text NOT NULL,
  revision  bigint NOT NULL,
  spec      text NOT NULL,
  gateway   jsonb NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS apigw_gateways_folder_name ON apigw_gateways (folder_id, name) WHERE name <> '';
CREATE TABLE IF NOT EXISTS apigw_domains (
  domain     text PRIMARY KEY,
  gateway_id text NOT NULL REFERENCES apigw_gateways (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS apigw_operations (
  id         text PRIMARY KEY,
  gateway_id text NOT NULL,
  seq        bigint NOT NULL,
  operation  jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS apigw_operations_gateway ON apigw_operations (gateway_id, seq);
CREATE SEQUENCE IF NOT EXISTS apigw_revision;
`

// OpenPostgres connects, makes the schema if it is missing (replicas
// starting together take turns through an advisory lock) and starts
// listening for other replicas' changes.
func OpenPostgres(ctx context.Context, url string, log *slog.Logger) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("control_plane.database: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.MaxConns = 8
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err = pgx.BeginFunc(cctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(cctx, `SELECT pg_advisory_xact_lock(7351926004)`); err != nil {
			return err
		}
		_, err := tx.Exec(cctx, pgSchema)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("control_plane.database: %w", err)
	}
	lctx, stop := context.WithCancel(context.Background())
	s := &pgStore{pool: pool, url: url, log: log, changed: make(chan struct{}, 1), cancel: stop, done: make(chan struct{})}
	go s.listen(lctx)
	return s, nil
}

func (s *pgStore) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// listen holds one connection LISTENing; when it breaks it reconnects
// every second, and signals a change after reconnecting (what happened
// meanwhile was not heard).
func (s *pgStore) listen(ctx context.Context) {
	defer close(s.done)
	lost := false
	for ctx.Err() == nil {
		conn, err := s.pool.Acquire(ctx)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgChannel)
		}
		if err != nil {
			if conn != nil {
				conn.Release()
			}
			if !lost && ctx.Err() == nil {
				s.log.Warn("control plane: PostgreSQL does not answer; the gateways keep serving their last state", "error", err.Error())
			}
			lost = true
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if lost {
			s.log.Info("control plane: PostgreSQL answers again")
			lost = false
		}
		s.notify() // catch up on whatever was missed while not listening
		for {
			_, err := conn.Conn().WaitForNotification(ctx)
			if err != nil {
				break
			}
			s.notify()
		}
		// A connection that broke mid-wait is not returned to the pool.
		conn.Conn().Close(context.Background())
		conn.Release()
	}
}

func (s *pgStore) Changed() <-chan struct{} { return s.changed }

func (s *pgStore) Close() error {
	s.cancel()
	<-s.done
	s.pool.Close()
	return nil
}

// pgErr maps what the driver says to the store's errors: a violated
// constraint to its meaning, anything that is not PostgreSQL's answer (a
// refused or broken connection, a timeout) to ErrUnavailable.
func pgErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Code == "23505" {
			switch pe.ConstraintName {
			case "apigw_gateways_folder_name":
				return ErrNameTaken
			case "apigw_domains_pkey":
				return ErrDomainTaken
			default:
				return ErrConflict
			}
		}
		if pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P03" {
			return fmt.Errorf("%w: %s", ErrUnavailable, pe.Message)
		}
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (s *pgStore) List(ctx context.Context) ([]*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT revision, spec, gateway FROM apigw_gateways`)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, pgErr(rows.Err())
}

func scanRecord(row pgx.Row) (*Record, error) {
	var rec Record
	var gj []byte
	if err := row.Scan(&rec.Revision, &rec.Spec, &gj); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, pgErr(err)
	}
	g, err := decodeGateway(gj)
	if err != nil {
		return nil, err
	}
	rec.Gateway = g
	return &rec, nil
}

func (s *pgStore) Get(ctx context.Context, id string) (*Record, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return scanRecord(s.pool.QueryRow(ctx, `SELECT revision, spec, gateway FROM apigw_gateways WHERE id = $1`, id))
}

func (s *pgStore) Put(ctx context.Context, rec *Record, prev int64, op *operation.Operation) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	g := rec.Gateway
	gj, err := encodeGateway(g)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rev int64
		if err := tx.QueryRow(ctx, `SELECT nextval('apigw_revision')`).Scan(&rev); err != nil {
			return err
		}
		if prev == 0 {
			_, err := tx.Exec(ctx, `INSERT INTO apigw_gateways (id, folder_id, name, revision, spec, gateway) VALUES ($1, $2, $3, $4, $5, $6)`,
				g.Id, g.FolderId, g.Name, rev, rec.Spec, gj)
			if err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `UPDATE apigw_gateways SET folder_id = $2, name = $3, revision = $4, spec = $5, gateway = $6 WHERE id = $1 AND revision = $7`,
				g.Id, g.FolderId, g.Name, rev, rec.Spec, gj, prev)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				var n int
				tx.QueryRow(ctx, `SELECT count(*) FROM apigw_gateways WHERE id = $1`, g.Id).Scan(&n)
				if n == 0 {
					return ErrNotFound
				}
				return ErrConflict
			}
			if _, err := tx.Exec(ctx, `DELETE FROM apigw_domains WHERE gateway_id = $1`, g.Id); err != nil {
				return err
			}
		}
		for _, d := range domainsOf(g) {
			if _, err := tx.Exec(ctx, `INSERT INTO apigw_domains (domain, gateway_id) VALUES ($1, $2)`, d, g.Id); err != nil {
				return err
			}
		}
		if err := insertOperation(ctx, tx, g.Id, rev, op); err != nil {
			return err
		}
		rec.Revision = rev
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, g.Id)
		return err
	})
	return pgErr(err)
}

func insertOperation(ctx context.Context, tx pgx.Tx, gatewayID string, seq int64, op *operation.Operation) error {
	b, err := encodeOperation(op)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO apigw_operations (id, gateway_id, seq, operation) VALUES ($1, $2, $3, $4)`, op.Id, gatewayID, seq, b)
	return err
}

func (s *pgStore) Delete(ctx context.Context, id string, op *operation.Operation) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM apigw_gateways WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		var rev int64
		if err := tx.QueryRow(ctx, `SELECT nextval('apigw_revision')`).Scan(&rev); err != nil {
			return err
		}
		if err := insertOperation(ctx, tx, id, rev, op); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, pgChannel, id)
		return err
	})
	return pgErr(err)
}

func (s *pgStore) Operation(ctx context.Context, id string) (*operation.Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var b []byte
	if err := s.pool.QueryRow(ctx, `SELECT operation FROM apigw_operations WHERE id = $1`, id).Scan(&b); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, pgErr(err)
	}
	return decodeOperation(b)
}

func (s *pgStore) Operations(ctx context.Context, gatewayID string) ([]*operation.Operation, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT operation FROM apigw_operations WHERE gateway_id = $1 ORDER BY seq DESC`, gatewayID)
	if err != nil {
		return nil, pgErr(err)
	}
	defer rows.Close()
	var out []*operation.Operation
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, pgErr(err)
		}
		op, err := decodeOperation(b)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, pgErr(rows.Err())
}
