package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/sealprint/sealprint/relayapi"
)

// MigrateReport says what Migrate moved.
type MigrateReport struct {
	Senders     int   `json:"senders"`
	Drops       int   `json:"drops"`
	Blobs       int   `json:"blobs"`
	BlobBytes   int64 `json:"blob_bytes"`
	Receipts    int   `json:"receipts"`
	AuditEvents int64 `json:"audit_events"`
}

// Migrate moves an embedded relay's data (src) into shared storage: every
// stored blob is copied and read back from dst's blobs with its SHA-256
// checked against the drop's, then senders, drops, receipts and the audit
// chain (verified before, copied line for line, verified after) are
// written in one transaction. The database must hold no drop and no audit
// record yet; a failed run leaves it so, and can be run again. Uploads in
// progress are not moved: their senders start them again. The data dir's
// lock is held throughout: a relay still serving from src would go on
// taking drops the copy misses, so Migrate refuses to run beside one.
func Migrate(ctx context.Context, src DataDir, db *PGStore, blobs Blobs, log *slog.Logger) (*MigrateReport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := &MigrateReport{}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM drops) + (SELECT count(*) FROM audit)`).Scan(&n); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if n != 0 {
		return nil, errors.New("migrate: the database already holds drops or audit records; migrate into an empty one")
	}
	if _, err := os.Stat(src.DB()); err != nil {
		return nil, fmt.Errorf("migrate: no relay database in %s: %w", src.Root, err)
	}
	lock, err := src.Lock()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer lock.Close()
	st, err := OpenSQLite(src.DB())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	lines, err := readAuditLines(src.AuditLog())
	if err != nil {
		return nil, err
	}
	senders, err := st.Senders(ctx)
	if err != nil {
		return nil, err
	}
	drops, err := st.Drops(ctx)
	if err != nil {
		return nil, err
	}
	srcBlobs := &FileBlobs{Dir: src.Blobs()}
	receipts := map[string][]relayapi.Receipt{}
	for _, d := range drops {
		if rs, err := st.Receipts(ctx, d.ID); err != nil {
			return nil, err
		} else if len(rs) > 0 {
			receipts[d.ID] = rs
		}
		if d.State != StateReady {
			continue
		}
		size, err := copyBlob(ctx, srcBlobs, blobs, d)
		if err != nil {
			return nil, err
		}
		rep.Blobs++
		rep.BlobBytes += size
		log.Info("blob copied and verified", "drop", d.ID, "bytes", size)
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, snd := range senders {
			kind := snd.Kind
			if kind == "" {
				kind = KindSender
			}
			if _, err := tx.Exec(ctx, `INSERT INTO senders (`+senderCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				snd.ID, snd.Name, snd.Email, snd.TokenHash, snd.CreatedAt.UTC(), kind, snd.Org,
				nullTime(snd.ExpiresAt), nullTime(snd.RevokedAt), snd.UsesLeft, snd.Parent, snd.KeyFPR, snd.Verified); err != nil {
				return fmt.Errorf("sender %s: %w", snd.ID, err)
			}
		}
		for _, d := range drops {
			recipients, err := json.Marshal(d.Recipients)
			if err != nil {
				return err
			}
			if d.Recipients == nil {
				recipients = []byte("[]")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO drops (`+dropCols+`)
				VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
				d.ID, d.SenderID, d.IdempotencyKey, d.Size, d.SHA256, string(recipients), d.Mode,
				d.CreatedAt.UTC(), d.ExpiresAt.UTC(), d.MaxDownloads, d.Downloads, d.CodeHash,
				d.CodeFailures, d.State, d.SenderKey, d.SenderFPR, d.Notify, nullTime(d.ReadyAt),
				encodeRecipientKeys(d.RecipientKeys), d.ReplyTo, d.ReplyVerifier); err != nil {
				return fmt.Errorf("drop %s: %w", d.ID, err)
			}
			for _, r := range receipts[d.ID] {
				if _, err := tx.Exec(ctx, `INSERT INTO receipts (drop_id, at, proof, download, signer, signature, signed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
					d.ID, r.At.UTC(), r.Proof, r.Download, r.Signer, r.Signature, nullTime(r.SignedAt)); err != nil {
					return fmt.Errorf("receipt of %s: %w", d.ID, err)
				}
				rep.Receipts++
			}
		}
		head := zeroHash
		for i, line := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, line) VALUES ($1, $2)`, i+1, string(line)); err != nil {
				return fmt.Errorf("audit line %d: %w", i+1, err)
			}
			head = lineHash(line)
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE one`, len(lines), head); err != nil {
			return err
		}
		// The chain's checkpoints were signed with the data dir's audit
		// key: it becomes the replicas' key (the database holds no record
		// yet, so no checkpoint of another key exists).
		if seed, err := os.ReadFile(src.AuditKey()); err == nil {
			if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ('audit-key', $1)
				ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, seed); err != nil {
				return err
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// Grants issued by the old relay stay valid for their few minutes.
		if key, err := os.ReadFile(src.GrantKey()); err == nil && len(key) >= 32 {
			if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ('grant-key', $1) ON CONFLICT (name) DO NOTHING`, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	rep.Senders, rep.Drops = len(senders), len(drops)
	// The chain as the database now holds it.
	var buf bytes.Buffer
	if err := db.WriteAudit(ctx, &buf); err != nil {
		return nil, err
	}
	if rep.AuditEvents, err = VerifyAudit(&buf); err != nil {
		return nil, fmt.Errorf("migrate: audit chain after copy: %w", err)
	}
	if rep.AuditEvents != int64(len(lines)) {
		return nil, fmt.Errorf("migrate: %d audit records after copy, %d before", rep.AuditEvents, len(lines))
	}
	return rep, nil
}

// readAuditLines reads and verifies an audit log, returning its lines.
func readAuditLines(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if _, err := VerifyAudit(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("migrate: source audit log: %w", err)
	}
	var lines [][]byte
	// Like VerifyAudit, an unfinished last line (cut by a crash, never
	// acknowledged) is left out.
	sc := newAuditScanner(bytes.NewReader(b), nil)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines, sc.Err()
}

// copyBlob copies a ready drop's blob and reads it back from the
// destination, checking size and SHA-256 against the drop both ways.
func copyBlob(ctx context.Context, from *FileBlobs, to Blobs, d *Drop) (int64, error) {
	f, size, err := from.Open(ctx, d.ID)
	if err != nil {
		return 0, fmt.Errorf("migrate drop %s: %w", d.ID, err)
	}
	h := sha256.New()
	err = to.Put(ctx, d.ID, io.TeeReader(f, h))
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("migrate drop %s: %w", d.ID, err)
	}
	if size != d.Size || hex.EncodeToString(h.Sum(nil)) != d.SHA256 {
		return 0, fmt.Errorf("migrate drop %s: the stored blob does not match the drop's size and SHA-256", d.ID)
	}
	back, n, err := to.Open(ctx, d.ID)
	if err != nil {
		return 0, fmt.Errorf("migrate drop %s: read back: %w", d.ID, err)
	}
	defer back.Close()
	h.Reset()
	m, err := io.Copy(h, back)
	if err != nil {
		return 0, fmt.Errorf("migrate drop %s: read back: %w", d.ID, err)
	}
	if m != d.Size || (n != d.Size && n != 0) || hex.EncodeToString(h.Sum(nil)) != d.SHA256 {
		return 0, fmt.Errorf("migrate drop %s: the copy read back does not match the drop's SHA-256", d.ID)
	}
	return size, nil
}
