package keyserver

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sealprint/sealprint/internal/pgschema"
	"github.com/sealprint/sealprint/internal/pgtx"
)

//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// Advisory lock keys: schema migrations, and every change to the
// directory (see Serialize).
const (
	pgMigrationLock int64 = 0x5ea1_7e1a_0002
	pgChangeLock    int64 = 0x5ea1_7e1a_0003
)

// PGStore keeps the key directory in PostgreSQL, shared by several relay
// replicas. Changes are serialized across replicas (Serialize), so moving
// an address from one key to another stays atomic.
type PGStore struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var (
	_ Store        = (*PGStore)(nil)
	_ DomainPolicy = (*PGStore)(nil)
	_ Serializer   = (*PGStore)(nil)
)

// OpenPGStore connects to url and applies the directory's migrations.
func OpenPGStore(ctx context.Context, url string) (*PGStore, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("key directory: cannot parse the database URL")
	}
	if cfg.MaxConns > 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	if err := pgschema.Migrate(ctx, pool, pgMigrations, "migrations/postgres", "keydir_schema_migrations", pgMigrationLock); err != nil {
		pool.Close()
		return nil, fmt.Errorf("key directory: %w", err)
	}
	return &PGStore{pool: pool, now: time.Now}, nil
}

// Close closes the pool.
func (s *PGStore) Close() error {
	s.pool.Close()
	return nil
}

func (s *PGStore) db(ctx context.Context) pgtx.Querier { return pgtx.DB(ctx, s.pool) }

// Serialize runs fn in one transaction holding the directory's change
// lock: no other change, on any replica, runs meanwhile, and fn's store
// calls commit together.
func (s *PGStore) Serialize(ctx context.Context, fn func(ctx context.Context) error) error {
	if pgtx.Active(ctx, s.pool) {
		return fn(ctx)
	}
	return pgtx.InTx(ctx, s.pool, func(ctx context.Context) error {
		if _, err := s.db(ctx).Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgChangeLock); err != nil {
			return err
		}
		return fn(ctx)
	})
}

// Get implements Store.
func (s *PGStore) Get(ctx context.Context, fpr string) (*Record, error) {
	var b []byte
	err := s.db(ctx).QueryRow(ctx, `SELECT record FROM keydir_records WHERE fingerprint = $1`, fpr).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", fpr, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse key record %s: %w", fpr, err)
	}
	return &r, nil
}

// Put implements Store: the record and its index entries in one
// transaction.
func (s *PGStore) Put(ctx context.Context, r *Record) error {
	if !fprPattern.MatchString(r.Fingerprint) {
		return fmt.Errorf("put key: bad fingerprint %q", r.Fingerprint)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO keydir_records (fingerprint, record) VALUES ($1, $2)
			ON CONFLICT (fingerprint) DO UPDATE SET record = EXCLUDED.record`, r.Fingerprint, b); err != nil {
			return fmt.Errorf("put key %s: %w", r.Fingerprint, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM keydir_index WHERE fingerprint = $1`, r.Fingerprint); err != nil {
			return err
		}
		for _, k := range indexKeys(r) {
			if _, err := tx.Exec(ctx, `INSERT INTO keydir_index (entry, fingerprint) VALUES ($1, $2) ON CONFLICT DO NOTHING`, k, r.Fingerprint); err != nil {
				return fmt.Errorf("index key %s: %w", r.Fingerprint, err)
			}
		}
		return nil
	})
}

// Delete implements Store.
func (s *PGStore) Delete(ctx context.Context, fpr string) error {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM keydir_records WHERE fingerprint = $1`, fpr)
	if err != nil {
		return fmt.Errorf("delete key %s: %w", fpr, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *PGStore) lookup(ctx context.Context, entry string) ([]string, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT fingerprint FROM keydir_index WHERE entry = $1 ORDER BY fingerprint`, entry)
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ByEmail implements Store.
func (s *PGStore) ByEmail(ctx context.Context, email string) ([]string, error) {
	return s.lookup(ctx, "email:"+email)
}

// ByKeyID implements Store.
func (s *PGStore) ByKeyID(ctx context.Context, id string) ([]string, error) {
	return s.lookup(ctx, "id:"+strings.ToUpper(id))
}

// ByWKD implements Store.
func (s *PGStore) ByWKD(ctx context.Context, domain, hash string) ([]string, error) {
	return s.lookup(ctx, "wkd:"+strings.ToLower(domain)+"/"+hash)
}

// List implements Store.
func (s *PGStore) List(ctx context.Context) ([]string, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT fingerprint FROM keydir_records ORDER BY fingerprint`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PutToken implements Store; expired tokens are deleted on the way.
func (s *PGStore) PutToken(ctx context.Context, t *Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := s.db(ctx).Exec(ctx, `INSERT INTO keydir_tokens (hash, token, expires) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET token = EXCLUDED.token, expires = EXCLUDED.expires`, t.Hash, b, t.Expires.UTC()); err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	s.db(ctx).Exec(ctx, `DELETE FROM keydir_tokens WHERE expires < $1`, s.now().UTC())
	return nil
}

// GetToken implements Store.
func (s *PGStore) GetToken(ctx context.Context, hash string) (*Token, error) {
	var b []byte
	err := s.db(ctx).QueryRow(ctx, `SELECT token FROM keydir_tokens WHERE hash = $1 AND expires >= $2`, hash, s.now().UTC()).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	return &t, nil
}

// DeleteToken implements Store.
func (s *PGStore) DeleteToken(ctx context.Context, hash string) error {
	if _, err := s.db(ctx).Exec(ctx, `DELETE FROM keydir_tokens WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// TakeToken implements Store with one conditional DELETE … RETURNING:
// of concurrent takes on any replicas, exactly one gets the row.
func (s *PGStore) TakeToken(ctx context.Context, hash, kind string) (*Token, error) {
	var b []byte
	err := s.db(ctx).QueryRow(ctx, `DELETE FROM keydir_tokens WHERE hash = $1 AND expires >= $2 AND token->>'kind' = $3
		RETURNING token`, hash, s.now().UTC(), kind).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("take token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	return &t, nil
}

// AllowedDomains implements DomainPolicy (nil: every domain).
func (s *PGStore) AllowedDomains() ([]string, error) {
	rows, err := s.pool.Query(context.Background(), `SELECT domain FROM keydir_domains ORDER BY domain`)
	if err != nil {
		return nil, fmt.Errorf("read allowed domains: %w", err)
	}
	d, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if len(d) == 0 {
		d = nil
	}
	return d, err
}

// SetAllowedDomains replaces the domains allowed to publish; an empty
// list allows every domain.
func (s *PGStore) SetAllowedDomains(domains []string) error {
	var clean []string
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if NormalizeEmail("x@"+d) == "" {
			return fmt.Errorf("bad domain %q", d)
		}
		clean = append(clean, d)
	}
	ctx := context.Background()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM keydir_domains`); err != nil {
			return err
		}
		for _, d := range clean {
			if _, err := tx.Exec(ctx, `INSERT INTO keydir_domains (domain) VALUES ($1) ON CONFLICT DO NOTHING`, d); err != nil {
				return err
			}
		}
		return nil
	})
}
