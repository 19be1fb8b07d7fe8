package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sealprint/sealprint/relayapi"
)

func pgScanDrop(row pgx.Row) (*Drop, error) {
	var d Drop
	var recipients []byte
	var keys string
	var ready *time.Time
	err := row.Scan(&d.ID, &d.SenderID, &d.IdempotencyKey, &d.Size, &d.SHA256, &recipients,
		&d.Mode, &d.CreatedAt, &d.ExpiresAt, &d.MaxDownloads, &d.Downloads, &d.CodeHash,
		&d.CodeFailures, &d.State, &d.SenderKey, &d.SenderFPR, &d.Notify, &ready, &keys, &d.ReplyTo, &d.ReplyVerifier)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal(recipients, &d.Recipients); err != nil {
		return nil, fmt.Errorf("drop %s: recipients: %w", d.ID, err)
	}
	if d.RecipientKeys, err = decodeRecipientKeys(keys); err != nil {
		return nil, fmt.Errorf("drop %s: %w", d.ID, err)
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.ExpiresAt = d.ExpiresAt.UTC()
	if ready != nil {
		d.ReadyAt = ready.UTC()
	}
	return &d, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// clock returns the expression for "now" in a query: the caller's time
// as parameter $n with CallerClock, the database's clock otherwise.
func (s *PGStore) clock(now time.Time) *time.Time {
	if s.opts.CallerClock {
		return &now
	}
	return nil
}

// CreateDrop stores d unless the sender already used its idempotency key.
func (s *PGStore) CreateDrop(ctx context.Context, d *Drop) (*Drop, bool, error) {
	recipients, err := json.Marshal(d.Recipients)
	if err != nil {
		return nil, false, err
	}
	if d.Recipients == nil {
		recipients = []byte("[]")
	}
	tag, err := s.db(ctx).Exec(ctx, `INSERT INTO drops (`+dropCols+`)
		VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (sender_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING`,
		d.ID, d.SenderID, d.IdempotencyKey, d.Size, d.SHA256, string(recipients), d.Mode,
		d.CreatedAt.UTC(), d.ExpiresAt.UTC(), d.MaxDownloads, d.Downloads, d.CodeHash,
		d.CodeFailures, d.State, d.SenderKey, d.SenderFPR, d.Notify, nullTime(d.ReadyAt),
		encodeRecipientKeys(d.RecipientKeys), d.ReplyTo, d.ReplyVerifier)
	if err != nil {
		return nil, false, fmt.Errorf("create drop: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return d, true, nil
	}
	old, err := s.DropByIdempotencyKey(ctx, d.SenderID, d.IdempotencyKey)
	if err != nil {
		return nil, false, fmt.Errorf("create drop: %w", err)
	}
	return old, false, nil
}

// Drop returns the drop with this id.
func (s *PGStore) Drop(ctx context.Context, id string) (*Drop, error) {
	return pgScanDrop(s.db(ctx).QueryRow(ctx, `SELECT `+dropCols+` FROM drops WHERE id = $1`, id))
}

// DropByIdempotencyKey returns the sender's drop created with key.
func (s *PGStore) DropByIdempotencyKey(ctx context.Context, senderID, key string) (*Drop, error) {
	if key == "" {
		return nil, ErrNotFound
	}
	return pgScanDrop(s.db(ctx).QueryRow(ctx,
		`SELECT `+dropCols+` FROM drops WHERE sender_id = $1 AND idempotency_key = $2`, senderID, key))
}

// UpdateDrop applies fn to the drop, read with SELECT … FOR UPDATE, in one
// transaction. Only the mutable fields are written.
func (s *PGStore) UpdateDrop(ctx context.Context, id string, fn func(d *Drop) error) (*Drop, error) {
	var out *Drop
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		d, err := pgScanDrop(tx.QueryRow(ctx, `SELECT `+dropCols+` FROM drops WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE drops SET downloads = $1, code_failures = $2, state = $3,
			ready_at = $4, updated_at = now(),
			locked_at = CASE WHEN $3 = 'locked' THEN coalesce(locked_at, now()) ELSE locked_at END
			WHERE id = $5`,
			d.Downloads, d.CodeFailures, d.State, nullTime(d.ReadyAt), id)
		if err != nil {
			return fmt.Errorf("update drop: %w", err)
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountDownload counts a download with one conditional UPDATE … RETURNING:
// replicas racing for the last download of a drop cannot both win. then
// runs in the same transaction.
func (s *PGStore) CountDownload(ctx context.Context, id string, now time.Time, then func(d *Drop) error) (*Drop, bool, error) {
	var d *Drop
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		var err error
		d, err = pgScanDrop(tx.QueryRow(ctx, `UPDATE drops SET downloads = downloads + 1, updated_at = now()
			WHERE id = $1 AND state = 'ready' AND expires_at > coalesce($2::timestamptz, now())
			AND (max_downloads = 0 OR downloads < max_downloads)
			RETURNING `+dropCols, id, s.clock(now)))
		if err != nil || then == nil {
			return err
		}
		return then(d)
	})
	if errors.Is(err, ErrNotFound) {
		d, err = s.Drop(ctx, id)
		return d, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("count download: %w", err)
	}
	return d, true, nil
}

// CountCodeAttempt counts an attempt, or locks the drop at max, in one
// UPDATE before the code is checked; the lock time is the database's.
// then runs in the same transaction.
func (s *PGStore) CountCodeAttempt(ctx context.Context, id string, max int, then func(d *Drop, a Attempt) error) (*Drop, Attempt, error) {
	var d *Drop
	outcome := AttemptCounted
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		var err error
		d, err = pgScanDrop(tx.QueryRow(ctx, `UPDATE drops SET
			state = CASE WHEN code_failures >= $2 THEN 'locked' ELSE state END,
			locked_at = CASE WHEN code_failures >= $2 THEN now() ELSE locked_at END,
			code_failures = CASE WHEN code_failures >= $2 THEN code_failures ELSE code_failures + 1 END,
			updated_at = now()
			WHERE id = $1 AND state = 'ready'
			RETURNING `+dropCols, id, max))
		if err != nil {
			return err
		}
		if d.State == StateLocked {
			outcome = AttemptLocked
		}
		if then == nil {
			return nil
		}
		return then(d, outcome)
	})
	if errors.Is(err, ErrNotFound) {
		d, err = s.Drop(ctx, id)
		return d, AttemptRefused, err
	}
	if err != nil {
		return nil, AttemptRefused, fmt.Errorf("count attempt: %w", err)
	}
	return d, outcome, nil
}

// AddReceipt appends a receipt.
func (s *PGStore) AddReceipt(ctx context.Context, id string, r relayapi.Receipt) error {
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO receipts (drop_id, at, proof, download, signer, signature, signed_at, link_proof) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, r.At.UTC(), r.Proof, r.Download, r.Signer, r.Signature, nullTime(r.SignedAt), r.LinkProof)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" {
			return fmt.Errorf("add receipt: %w", ErrNotFound)
		}
		return fmt.Errorf("add receipt: %w", err)
	}
	return nil
}

// Receipts returns a drop's receipts, oldest first.
func (s *PGStore) Receipts(ctx context.Context, id string) ([]relayapi.Receipt, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT at, proof, download, signer, signature, signed_at, link_proof FROM receipts WHERE drop_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	defer rows.Close()
	out := []relayapi.Receipt{}
	for rows.Next() {
		var r relayapi.Receipt
		var signed *time.Time
		if err := rows.Scan(&r.At, &r.Proof, &r.Download, &r.Signer, &r.Signature, &signed, &r.LinkProof); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		r.At = r.At.UTC()
		if signed != nil {
			r.SignedAt = signed.UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *PGStore) queryDrops(ctx context.Context, where string, args ...any) ([]*Drop, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT `+dropCols+` FROM drops `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list drops: %w", err)
	}
	defer rows.Close()
	var out []*Drop
	for rows.Next() {
		d, err := pgScanDrop(rows)
		if err != nil {
			return nil, fmt.Errorf("list drops: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Drops returns every drop, newest first.
func (s *PGStore) Drops(ctx context.Context) ([]*Drop, error) {
	return s.queryDrops(ctx, `ORDER BY created_at DESC, id`)
}

// Replies returns the replies to drop id, oldest first.
func (s *PGStore) Replies(ctx context.Context, id string) ([]*Drop, error) {
	return s.queryDrops(ctx, `WHERE reply_to = $1 ORDER BY created_at, id`, id)
}

// DropsToSweep returns pending or ready drops that expired or reached
// their download limit. Replicas sweeping at once may list the same drop;
// the sweeper's UpdateDrop (FOR UPDATE) lets only one of them act on it.
func (s *PGStore) DropsToSweep(ctx context.Context, now time.Time) ([]*Drop, error) {
	return s.queryDrops(ctx, `WHERE state IN ('pending', 'ready') AND (expires_at <= coalesce($1::timestamptz, now())
		OR (max_downloads > 0 AND downloads >= max_downloads)) ORDER BY expires_at LIMIT 1000`, s.clock(now))
}

// SweepDeletions finishes deleting the data of drops in a terminal state:
// up to limit of them are claimed with FOR UPDATE SKIP LOCKED (replicas
// sweeping at once take different drops), del deletes each one's objects
// (it must be idempotent), and each success is marked deleted in the same
// transaction. A failed del leaves its drop for the next sweep. It returns
// how many drops were marked.
func (s *PGStore) SweepDeletions(ctx context.Context, limit int, del func(ctx context.Context, id string) error) (int, error) {
	n := 0
	var delErrs []error
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM drops
			WHERE state IN ('expired', 'exhausted', 'revoked', 'locked') AND NOT data_deleted
			ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := del(ctx, id); err != nil {
				delErrs = append(delErrs, fmt.Errorf("drop %s: %w", id, err))
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE drops SET data_deleted = true WHERE id = $1`, id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep deletions: %w", err)
	}
	return n, errors.Join(delErrs...)
}
