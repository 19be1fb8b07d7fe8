package relay

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sealprint/sealprint/relayapi"
	"modernc.org/sqlite" // database/sql driver "sqlite", pure Go
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteSchema creates the tables on first open. Times are Unix
// nanoseconds (UTC).
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS senders (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL DEFAULT '',
	token_hash BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
-- Columns added for organisation tokens and bound sender keys are added
-- by migrateSenders, so that existing data directories keep working.
CREATE TABLE IF NOT EXISTS drops (
	id              TEXT PRIMARY KEY,
	sender_id       TEXT NOT NULL REFERENCES senders(id),
	idempotency_key TEXT NOT NULL DEFAULT '',
	size            INTEGER NOT NULL,
	sha256          TEXT NOT NULL,
	recipients      TEXT NOT NULL,
	mode            TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	max_downloads   INTEGER NOT NULL,
	downloads       INTEGER NOT NULL DEFAULT 0,
	code_hash       TEXT NOT NULL DEFAULT '',
	code_failures   INTEGER NOT NULL DEFAULT 0,
	state           TEXT NOT NULL,
	sender_key      TEXT NOT NULL DEFAULT '',
	sender_fpr      TEXT NOT NULL DEFAULT '',
	notify          INTEGER NOT NULL DEFAULT 0,
	ready_at        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS drops_idempotency
	ON drops(sender_id, idempotency_key) WHERE idempotency_key != '';
CREATE INDEX IF NOT EXISTS drops_sweep ON drops(state, expires_at);
CREATE TABLE IF NOT EXISTS receipts (
	drop_id  TEXT NOT NULL REFERENCES drops(id),
	at       INTEGER NOT NULL,
	proof    TEXT NOT NULL,
	download INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS receipts_drop ON receipts(drop_id);
`

// SQLiteStore is the embedded Store: one SQLite file in WAL mode with
// synchronous=FULL, so a committed change survives a power cut.
type SQLiteStore struct {
	db *sql.DB // the one writing connection
	// w batches the frequent changes (drops, downloads, code attempts,
	// receipts) into shared transactions on db.
	w *writer
	// rd is a pool of read-only connections: in WAL mode readers see the
	// last commit without waiting for the writer, so looking up a sender
	// or a drop does not queue behind a transaction's fsync.
	rd *sql.DB
}

// sqliteReaders is the size of the read-only pool.
const sqliteReaders = 4

var _ Store = (*SQLiteStore)(nil)

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(path string) (*SQLiteStore, error) {
	q := url.Values{}
	// busy_timeout first: the pragmas run in order when a connection
	// opens, and switching an old database to WAL must wait for another
	// process opening it too, not fail with SQLITE_BUSY.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: writes are serialized in-process; other processes
	// (sealrelay token create) wait on busy_timeout.
	db.SetMaxOpenConns(1)
	if err := connectSQLite(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	if err := migrateSenders(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	for _, c := range [][3]string{
		{"receipts", "download", "INTEGER NOT NULL DEFAULT 0"},
		{"drops", "recipient_keys", "TEXT NOT NULL DEFAULT ''"},
		{"receipts", "signer", "TEXT NOT NULL DEFAULT ''"},
		{"receipts", "signature", "TEXT NOT NULL DEFAULT ''"},
		{"receipts", "signed_at", "INTEGER NOT NULL DEFAULT 0"},
		{"receipts", "link_proof", "TEXT NOT NULL DEFAULT ''"},
	} {
		if err := addColumn(db, c[0], c[1], c[2]); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate %s: %w", path, err)
		}
	}
	if err := migrateReplies(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	rq := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "query_only(1)", "foreign_keys(1)"} {
		rq.Add("_pragma", p)
	}
	rd, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	rd.SetMaxOpenConns(sqliteReaders)
	rd.SetMaxIdleConns(sqliteReaders)
	return &SQLiteStore{db: db, rd: rd, w: newWriter(db)}, nil
}

// connectOpenWait bounds how long connectSQLite waits for a database
// another connection is writing: the busy timeout's 10 s.
const connectOpenWait = 10 * time.Second

// connectSQLite opens db's connection, whose pragmas switch a database
// still in rollback-journal mode (one from an older relay) to WAL. While
// another connection holds a write lock on such a database, SQLite
// answers that switch SQLITE_BUSY at once instead of waiting out
// busy_timeout (it would otherwise wait on a reader that waits on it), so
// an admin command opening the data directory while the relay writes
// failed. The connection is tried again, with growing pauses, for up to
// connectOpenWait; any other error is returned at once.
func connectSQLite(db *sql.DB) error {
	deadline := time.Now().Add(connectOpenWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		err := db.Ping()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
	}
}

// Close closes the database.
func (s *SQLiteStore) Close() error {
	s.w.close()
	return errors.Join(s.rd.Close(), s.db.Close())
}

// Ping checks that the database answers.
func (s *SQLiteStore) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// AddSender stores a new sender.
func (s *SQLiteStore) AddSender(ctx context.Context, snd *Sender) error {
	kind := snd.Kind
	if kind == "" {
		kind = KindSender
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO senders (id, name, email, token_hash, created_at, kind, org, expires_at, revoked_at,
			uses_left, parent, key_fpr, verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		snd.ID, snd.Name, snd.Email, snd.TokenHash, snd.CreatedAt.UnixNano(), kind, snd.Org,
		unixNano(snd.ExpiresAt), unixNano(snd.RevokedAt), snd.UsesLeft, snd.Parent, snd.KeyFPR, snd.Verified)
	if err != nil {
		return fmt.Errorf("add sender: %w", err)
	}
	return nil
}

const senderCols = `id, name, email, token_hash, created_at, kind, org, expires_at, revoked_at,
	uses_left, parent, key_fpr, verified`

func scanSender(row interface{ Scan(...any) error }) (*Sender, error) {
	var snd Sender
	var created, expires, revoked int64
	if err := row.Scan(&snd.ID, &snd.Name, &snd.Email, &snd.TokenHash, &created, &snd.Kind, &snd.Org,
		&expires, &revoked, &snd.UsesLeft, &snd.Parent, &snd.KeyFPR, &snd.Verified); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	snd.CreatedAt = time.Unix(0, created).UTC()
	if expires != 0 {
		snd.ExpiresAt = time.Unix(0, expires).UTC()
	}
	if revoked != 0 {
		snd.RevokedAt = time.Unix(0, revoked).UTC()
	}
	return &snd, nil
}

// senderColumns are the columns migrateSenders adds to a data directory
// made before organisation tokens: an old token becomes a single-sender
// credential with no expiry and no bound key yet.
var senderColumns = []struct{ name, def string }{
	{"kind", "TEXT NOT NULL DEFAULT 'sender'"},
	{"org", "TEXT NOT NULL DEFAULT ''"},
	{"expires_at", "INTEGER NOT NULL DEFAULT 0"},
	{"revoked_at", "INTEGER NOT NULL DEFAULT 0"},
	{"uses_left", "INTEGER NOT NULL DEFAULT -1"},
	{"parent", "TEXT NOT NULL DEFAULT ''"},
	{"key_fpr", "TEXT NOT NULL DEFAULT ''"},
	{"verified", "INTEGER NOT NULL DEFAULT 0"},
}

func migrateSenders(db *sql.DB) error {
	for _, c := range senderColumns {
		if err := addColumn(db, "senders", c.name, c.def); err != nil {
			return err
		}
	}
	return nil
}

// Senders returns every sender and organisation token, oldest first.
func (s *SQLiteStore) Senders(ctx context.Context) ([]*Sender, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+senderCols+` FROM senders ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("senders: %w", err)
	}
	defer rows.Close()
	var out []*Sender
	for rows.Next() {
		snd, err := scanSender(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, snd)
	}
	return out, rows.Err()
}

// UpdateSender applies fn to a sender in one transaction.
func (s *SQLiteStore) UpdateSender(ctx context.Context, id string, fn func(*Sender) error) (*Sender, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update sender: %w", err)
	}
	defer tx.Rollback()
	snd, err := scanSender(tx.QueryRowContext(ctx, `SELECT `+senderCols+` FROM senders WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if err := fn(snd); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx,
		`UPDATE senders SET expires_at = ?, revoked_at = ?, uses_left = ?, key_fpr = ?, verified = ? WHERE id = ?`,
		unixNano(snd.ExpiresAt), unixNano(snd.RevokedAt), snd.UsesLeft, snd.KeyFPR, snd.Verified, id)
	if err != nil {
		return nil, fmt.Errorf("update sender: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update sender: %w", err)
	}
	return snd, nil
}

// SenderByTokenHash returns the sender whose token hashes to h.
func (s *SQLiteStore) SenderByTokenHash(ctx context.Context, h []byte) (*Sender, error) {
	return scanSender(s.rd.QueryRowContext(ctx, `SELECT `+senderCols+` FROM senders WHERE token_hash = ?`, h))
}

// Sender returns the sender with this id.
func (s *SQLiteStore) Sender(ctx context.Context, id string) (*Sender, error) {
	return scanSender(s.rd.QueryRowContext(ctx, `SELECT `+senderCols+` FROM senders WHERE id = ?`, id))
}

const dropCols = `id, sender_id, idempotency_key, size, sha256, recipients, mode, created_at,
	expires_at, max_downloads, downloads, code_hash, code_failures, state, sender_key,
	sender_fpr, notify, ready_at, recipient_keys, reply_to, reply_verifier`

func scanDrop(row interface{ Scan(...any) error }) (*Drop, error) {
	var d Drop
	var recipients, keys string
	var created, expires, ready int64
	err := row.Scan(&d.ID, &d.SenderID, &d.IdempotencyKey, &d.Size, &d.SHA256, &recipients,
		&d.Mode, &created, &expires, &d.MaxDownloads, &d.Downloads, &d.CodeHash,
		&d.CodeFailures, &d.State, &d.SenderKey, &d.SenderFPR, &d.Notify, &ready, &keys, &d.ReplyTo, &d.ReplyVerifier)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(recipients), &d.Recipients); err != nil {
		return nil, fmt.Errorf("drop %s: recipients: %w", d.ID, err)
	}
	if d.RecipientKeys, err = decodeRecipientKeys(keys); err != nil {
		return nil, fmt.Errorf("drop %s: %w", d.ID, err)
	}
	d.CreatedAt = time.Unix(0, created).UTC()
	d.ExpiresAt = time.Unix(0, expires).UTC()
	if ready != 0 {
		d.ReadyAt = time.Unix(0, ready).UTC()
	}
	return &d, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// CreateDrop stores d unless the sender already used its idempotency key.
func (s *SQLiteStore) CreateDrop(ctx context.Context, d *Drop) (*Drop, bool, error) {
	recipients, err := json.Marshal(d.Recipients)
	if err != nil {
		return nil, false, err
	}
	var old *Drop
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		old = nil
		if d.IdempotencyKey != "" {
			o, err := scanDrop(tx.QueryRowContext(ctx,
				`SELECT `+dropCols+` FROM drops WHERE sender_id = ? AND idempotency_key = ?`,
				d.SenderID, d.IdempotencyKey))
			if err == nil {
				old = o
				return nil
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO drops (`+dropCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.SenderID, d.IdempotencyKey, d.Size, d.SHA256, string(recipients), d.Mode,
			unixNano(d.CreatedAt), unixNano(d.ExpiresAt), d.MaxDownloads, d.Downloads, d.CodeHash,
			d.CodeFailures, d.State, d.SenderKey, d.SenderFPR, d.Notify, unixNano(d.ReadyAt),
			encodeRecipientKeys(d.RecipientKeys), d.ReplyTo, d.ReplyVerifier)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("create drop: %w", err)
	}
	if old != nil {
		return old, false, nil
	}
	return d, true, nil
}

// Drop returns the drop with this id.
func (s *SQLiteStore) Drop(ctx context.Context, id string) (*Drop, error) {
	return scanDrop(s.rd.QueryRowContext(ctx, `SELECT `+dropCols+` FROM drops WHERE id = ?`, id))
}

// DropByIdempotencyKey returns the sender's drop created with key.
func (s *SQLiteStore) DropByIdempotencyKey(ctx context.Context, senderID, key string) (*Drop, error) {
	if key == "" {
		return nil, ErrNotFound
	}
	return scanDrop(s.rd.QueryRowContext(ctx,
		`SELECT `+dropCols+` FROM drops WHERE sender_id = ? AND idempotency_key = ?`, senderID, key))
}

// UpdateDrop applies fn to the drop inside one transaction. Only the
// mutable fields (downloads, code failures, state, ready time) are written.
func (s *SQLiteStore) UpdateDrop(ctx context.Context, id string, fn func(d *Drop) error) (*Drop, error) {
	var d *Drop
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		d, err = scanDrop(tx.QueryRowContext(ctx, `SELECT `+dropCols+` FROM drops WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE drops SET downloads = ?, code_failures = ?, state = ?, ready_at = ? WHERE id = ?`,
			d.Downloads, d.CodeFailures, d.State, unixNano(d.ReadyAt), id); err != nil {
			return fmt.Errorf("update drop: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// AddReceipt appends a receipt.
func (s *SQLiteStore) AddReceipt(ctx context.Context, id string, r relayapi.Receipt) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO receipts (drop_id, at, proof, download, signer, signature, signed_at, link_proof) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, r.At.UnixNano(), r.Proof, r.Download, r.Signer, r.Signature, unixNano(r.SignedAt), r.LinkProof)
		return err
	})
	if err != nil {
		return fmt.Errorf("add receipt: %w", err)
	}
	return nil
}

// Receipts returns a drop's receipts, oldest first.
func (s *SQLiteStore) Receipts(ctx context.Context, id string) ([]relayapi.Receipt, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT at, proof, download, signer, signature, signed_at, link_proof FROM receipts WHERE drop_id = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	defer rows.Close()
	out := []relayapi.Receipt{}
	for rows.Next() {
		var at, signed int64
		var r relayapi.Receipt
		if err := rows.Scan(&at, &r.Proof, &r.Download, &r.Signer, &r.Signature, &signed, &r.LinkProof); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		r.At = time.Unix(0, at).UTC()
		if signed != 0 {
			r.SignedAt = time.Unix(0, signed).UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *SQLiteStore) queryDrops(ctx context.Context, where string, args ...any) ([]*Drop, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+dropCols+` FROM drops `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list drops: %w", err)
	}
	defer rows.Close()
	var out []*Drop
	for rows.Next() {
		d, err := scanDrop(rows)
		if err != nil {
			return nil, fmt.Errorf("list drops: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Drops returns every drop, newest first.
func (s *SQLiteStore) Drops(ctx context.Context) ([]*Drop, error) {
	return s.queryDrops(ctx, `ORDER BY created_at DESC, id`)
}

// Replies returns the replies to drop id, oldest first.
func (s *SQLiteStore) Replies(ctx context.Context, id string) ([]*Drop, error) {
	return s.queryDrops(ctx, `WHERE reply_to = ? ORDER BY created_at, id`, id)
}

// migrateReplies adds the reply columns to a database made before replies.
func migrateReplies(db *sql.DB) error {
	if err := addColumn(db, "drops", "reply_to", "TEXT NOT NULL DEFAULT ''"); err != nil {
		return err
	}
	if err := addColumn(db, "drops", "reply_verifier", "TEXT NOT NULL DEFAULT ''"); err != nil {
		return err
	}
	_, err := db.Exec(`CREATE INDEX IF NOT EXISTS drops_reply_to ON drops(reply_to) WHERE reply_to != ''`)
	return err
}

// DropsToSweep returns pending or ready drops that expired or reached
// their download limit.
func (s *SQLiteStore) DropsToSweep(ctx context.Context, now time.Time) ([]*Drop, error) {
	return s.queryDrops(ctx, `WHERE state IN (?, ?) AND (expires_at <= ?
		OR (max_downloads > 0 AND downloads >= max_downloads)) ORDER BY expires_at`,
		StatePending, StateReady, now.UnixNano())
}

// addColumn adds a column to a table made by an older schema. The check
// and the change are one write transaction (BEGIN IMMEDIATE), so that an
// admin command and the relay opening an old database together do not
// both add it.
func addColumn(db *sql.DB, table, column, decl string) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("add column %s.%s: %w", table, column, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil {
		return fmt.Errorf("add column %s.%s: %w", table, column, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + column + ` ` + decl); err != nil {
		return fmt.Errorf("add column %s.%s: %w", table, column, err)
	}
	return tx.Commit()
}

// CountDownload counts a download with one conditional UPDATE; then runs
// in the same transaction.
func (s *SQLiteStore) CountDownload(ctx context.Context, id string, now time.Time, then func(d *Drop) error) (*Drop, bool, error) {
	var d *Drop
	counted := false
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		counted = false
		d, err = scanDrop(tx.QueryRowContext(ctx, `UPDATE drops SET downloads = downloads + 1
		WHERE id = ? AND state = ? AND expires_at > ? AND (max_downloads = 0 OR downloads < max_downloads)
		RETURNING `+dropCols, id, StateReady, now.UnixNano()))
		if errors.Is(err, ErrNotFound) {
			d, err = scanDrop(tx.QueryRowContext(ctx, `SELECT `+dropCols+` FROM drops WHERE id = ?`, id))
			return err
		}
		if err != nil {
			return fmt.Errorf("count download: %w", err)
		}
		counted = true
		if then != nil {
			return then(d)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return d, counted, nil
}

// CountCodeAttempt counts an attempt, or locks the drop at max, with one
// conditional UPDATE; then runs in the same transaction.
func (s *SQLiteStore) CountCodeAttempt(ctx context.Context, id string, max int, then func(d *Drop, a Attempt) error) (*Drop, Attempt, error) {
	var d *Drop
	outcome := AttemptRefused
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		outcome = AttemptRefused
		d, err = scanDrop(tx.QueryRowContext(ctx, `UPDATE drops SET
		state = CASE WHEN code_failures >= ? THEN ? ELSE state END,
		code_failures = CASE WHEN code_failures >= ? THEN code_failures ELSE code_failures + 1 END
		WHERE id = ? AND state = ? RETURNING `+dropCols, max, StateLocked, max, id, StateReady))
		if errors.Is(err, ErrNotFound) {
			d, err = scanDrop(tx.QueryRowContext(ctx, `SELECT `+dropCols+` FROM drops WHERE id = ?`, id))
			return err
		}
		if err != nil {
			return fmt.Errorf("count attempt: %w", err)
		}
		outcome = AttemptCounted
		if d.State == StateLocked {
			outcome = AttemptLocked
		}
		if then != nil {
			return then(d, outcome)
		}
		return nil
	})
	if err != nil {
		return nil, AttemptRefused, err
	}
	return d, outcome, nil
}
