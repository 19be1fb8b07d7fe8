package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sealprint/sealprint/internal/pgschema"
	"github.com/sealprint/sealprint/internal/pgtx"
)

//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// pgMigrationLock is the advisory lock key that serializes schema
// migrations between replicas starting at the same time.
const pgMigrationLock int64 = 0x5ea1_7e1a_0001

// PGOptions tunes OpenPostgres.
type PGOptions struct {
	// CallerClock makes the store compare expiry times with the time the
	// caller passes (a test's clock) instead of the database's now().
	CallerClock bool
	// MaxConns bounds the connection pool (default pgx's: 4 per CPU, at
	// least 4).
	MaxConns int32
}

// PGStore is the shared Store of several relay replicas: drops, senders,
// receipts and the audit chain in one PostgreSQL database. Every change
// is one transaction; limits that must hold across replicas (downloads,
// access-code attempts) are single conditional UPDATEs.
type PGStore struct {
	pool *pgxpool.Pool
	// ping has one connection of its own for Ping (/readyz): readiness is
	// whether the database answers, not how long this replica's queue
	// for pool connections is (under 1,000 concurrent downloads a check
	// waiting its turn took over 20 s and the load balancer took a
	// healthy replica out).
	ping *pgxpool.Pool
	opts PGOptions
	// Set by SetAuditKey before serving.
	auditKey   ed25519.PrivateKey
	auditEvery int64
}

var (
	_ Store       = (*PGStore)(nil)
	_ Auditor     = (*PGStore)(nil)
	_ DropAuditor = (*PGStore)(nil)
)

// OpenPostgres connects to the database at url (postgres://…) and applies
// the embedded migrations not applied yet, under an advisory lock.
func OpenPostgres(ctx context.Context, url string, opts PGOptions) (*PGStore, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", redactURLError(err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pcfg := cfg.Copy()
	pcfg.MaxConns, pcfg.MinConns = 1, 0
	ping, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &PGStore{pool: pool, ping: ping, opts: opts}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// redactURLError keeps a password given in the URL out of error messages.
func redactURLError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the connection string (check its syntax)")
	}
	return err
}

// Pool is the connection pool, for components sharing the database (the
// tus locker).
func (s *PGStore) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *PGStore) Close() error {
	s.pool.Close()
	s.ping.Close()
	return nil
}

// Ping checks that the database answers, on a connection of its own.
func (s *PGStore) Ping(ctx context.Context) error {
	var one int
	return s.ping.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// migrate applies the embedded migrations not applied yet.
func (s *PGStore) migrate(ctx context.Context) error {
	return pgschema.Migrate(ctx, s.pool, pgMigrations, "migrations/postgres", "schema_migrations", pgMigrationLock)
}

// AddSender stores a new sender or organisation token.
func (s *PGStore) AddSender(ctx context.Context, snd *Sender) error {
	kind := snd.Kind
	if kind == "" {
		kind = KindSender
	}
	_, err := s.db(ctx).Exec(ctx,
		`INSERT INTO senders (`+senderCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		snd.ID, snd.Name, snd.Email, snd.TokenHash, snd.CreatedAt.UTC(), kind, snd.Org,
		nullTime(snd.ExpiresAt), nullTime(snd.RevokedAt), snd.UsesLeft, snd.Parent, snd.KeyFPR, snd.Verified)
	if err != nil {
		return fmt.Errorf("add sender: %w", err)
	}
	return nil
}

func pgScanSender(row pgx.Row) (*Sender, error) {
	var snd Sender
	var expires, revoked *time.Time
	if err := row.Scan(&snd.ID, &snd.Name, &snd.Email, &snd.TokenHash, &snd.CreatedAt, &snd.Kind, &snd.Org,
		&expires, &revoked, &snd.UsesLeft, &snd.Parent, &snd.KeyFPR, &snd.Verified); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	snd.CreatedAt = snd.CreatedAt.UTC()
	if expires != nil {
		snd.ExpiresAt = expires.UTC()
	}
	if revoked != nil {
		snd.RevokedAt = revoked.UTC()
	}
	return &snd, nil
}

// SenderByTokenHash returns the sender whose token hashes to h.
func (s *PGStore) SenderByTokenHash(ctx context.Context, h []byte) (*Sender, error) {
	return pgScanSender(s.db(ctx).QueryRow(ctx, `SELECT `+senderCols+` FROM senders WHERE token_hash = $1`, h))
}

// Sender returns the sender with this id.
func (s *PGStore) Sender(ctx context.Context, id string) (*Sender, error) {
	return pgScanSender(s.db(ctx).QueryRow(ctx, `SELECT `+senderCols+` FROM senders WHERE id = $1`, id))
}

// Senders returns every sender and organisation token, oldest first.
func (s *PGStore) Senders(ctx context.Context) ([]*Sender, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT `+senderCols+` FROM senders ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("senders: %w", err)
	}
	defer rows.Close()
	var out []*Sender
	for rows.Next() {
		snd, err := pgScanSender(rows)
		if err != nil {
			return nil, fmt.Errorf("senders: %w", err)
		}
		out = append(out, snd)
	}
	return out, rows.Err()
}

// UpdateSender applies fn to a sender read with SELECT … FOR UPDATE, in
// one transaction (an organisation token's uses are counted exactly
// across replicas).
func (s *PGStore) UpdateSender(ctx context.Context, id string, fn func(*Sender) error) (*Sender, error) {
	var out *Sender
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		snd, err := pgScanSender(tx.QueryRow(ctx, `SELECT `+senderCols+` FROM senders WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if err := fn(snd); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE senders SET expires_at = $1, revoked_at = $2, uses_left = $3, key_fpr = $4, verified = $5 WHERE id = $6`,
			nullTime(snd.ExpiresAt), nullTime(snd.RevokedAt), snd.UsesLeft, snd.KeyFPR, snd.Verified, id); err != nil {
			return fmt.Errorf("update sender: %w", err)
		}
		out = snd
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// db returns the transaction ctx carries (see InTx), or the pool.
func (s *PGStore) db(ctx context.Context) pgtx.Querier { return pgtx.DB(ctx, s.pool) }

// InTx runs fn in one transaction: every store call and audit append made
// with the context fn is given commits with the others or not at all, so
// no change is stored without the audit record of it. Nested calls join
// the outer transaction.
func (s *PGStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return pgtx.InTx(ctx, s.pool, fn)
}

// SharedSecret returns the secret called name, creating it from 32
// random bytes on first use: every replica gets the same one (the key
// that signs download grants).
func (s *PGStore) SharedSecret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, b); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}
