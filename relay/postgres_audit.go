package relay

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SetAuditKey makes Record sign a checkpoint after every drop's terminal
// event and after every `every` records (DefaultCheckpointEvery when
// every <= 0), as the file log does. Call it before serving.
func (s *PGStore) SetAuditKey(key ed25519.PrivateKey, every int) {
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	s.auditKey, s.auditEvery = key, int64(every)
}

// AuditKey returns the relay's audit signing key kept in the database
// (every replica signs with the same one), creating it on first use.
func (s *PGStore) AuditKey(ctx context.Context) (ed25519.PrivateKey, error) {
	seed, err := s.SharedSecret(ctx, "audit-key")
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize]), nil
}

// Record appends e to the audit chain in the database. The transaction
// locks the single head row (SELECT … FOR UPDATE), so appends from every
// replica are serialized and each line links to the one committed before
// it — never to whatever a sequence handed out last. Inside InTx it joins
// the caller's transaction: the change and its record commit together.
func (s *PGStore) Record(ctx context.Context, e AuditEvent) error {
	if e.Event == EventCheckpoint {
		return errors.New("audit: checkpoints are written by the log itself")
	}
	err := pgx.BeginFunc(ctx, s.db(ctx), func(tx pgx.Tx) error { return s.appendAudit(ctx, tx, e) })
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// appendAudit appends e, then a signed checkpoint when one is due.
func (s *PGStore) appendAudit(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	var seq, since int64
	var head string
	if err := tx.QueryRow(ctx, `SELECT seq, hash, since FROM audit_head WHERE one FOR UPDATE`).Scan(&seq, &head, &since); err != nil {
		return err
	}
	line, hash, err := ChainNext(seq, head, e)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, line) VALUES ($1, $2)`, seq+1, string(line)); err != nil {
		return err
	}
	seq, head, since = seq+1, hash, since+1
	lastCP := ""
	if s.auditKey != nil && (checkpointAfter[e.Event] || since >= s.auditEvery) {
		c := signCheckpoint(s.auditKey, seq+1, head, checkpointTime(e, time.Now))
		cl, ch, err := ChainNext(seq, head, AuditEvent{At: c.At, Event: EventCheckpoint, KeyID: c.KeyID, Sig: c.Sig})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, line) VALUES ($1, $2)`, seq+1, string(cl)); err != nil {
			return err
		}
		seq, head, since, lastCP = seq+1, ch, 0, string(cl)
	}
	_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, since = $3,
		last_checkpoint = CASE WHEN $4 = '' THEN last_checkpoint ELSE $4 END WHERE one`, seq, head, since, lastCP)
	return err
}

// LastCheckpoint returns the latest signed checkpoint, or nil.
func (s *PGStore) LastCheckpoint() *Checkpoint {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var line string
	if err := s.pool.QueryRow(ctx, `SELECT last_checkpoint FROM audit_head WHERE one`).Scan(&line); err != nil || line == "" {
		return nil
	}
	var e AuditEvent
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		return nil
	}
	c := checkpointOf(e)
	return &c
}

// DropEvents returns the chain's records about drop, in order (for
// proofs of delivery).
func (s *PGStore) DropEvents(ctx context.Context, drop string) ([]AuditEvent, error) {
	needle := `"drop":` + strconvQuote(drop)
	rows, err := s.db(ctx).Query(ctx, `SELECT line FROM audit WHERE strpos(line, $1) > 0 ORDER BY seq`, needle)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	// Whole lines, each with its newline (a last line without one would
	// read as still being written).
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return ReadDropEvents(strings.NewReader(b.String()), drop)
}

// WriteAudit writes the audit chain to w in the file log's format (JSON
// lines, oldest first), for VerifyAudit and exports.
func (s *PGStore) WriteAudit(ctx context.Context, w io.Writer) error {
	rows, err := s.db(ctx).Query(ctx, `SELECT line FROM audit ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("read audit: %w", err)
	}
	defer rows.Close()
	var line string
	for rows.Next() {
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return rows.Err()
}
