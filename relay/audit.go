package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Audit event names. Events carry ids and times, never secrets or content.
const (
	EventCreate         = "create"          // a sender created a drop
	EventUpload         = "upload"          // the resumable upload was created
	EventUploadRejected = "upload_rejected" // completed upload failed size/hash check
	EventComplete       = "complete"        // ciphertext verified and stored
	EventDownload       = "download"        // ciphertext handed out
	EventCodeFailure    = "code_failure"    // wrong access code
	EventGrant          = "grant"           // right access code, grant issued
	EventLock           = "lock"            // drop locked after too many wrong codes
	EventRevoke         = "revoke"          // sender revoked the drop
	EventReceipt        = "receipt"         // recipient posted a receipt
	EventExpire         = "expire"          // sweeper deleted an expired drop's data
	EventExhaust        = "exhaust"         // sweeper deleted a drop that reached its download limit
	EventReplyGrant     = "reply_grant"     // a recipient obtained a reply grant for the drop
	EventReply          = "reply"           // a reply to the drop was created; Count numbers it
	EventReplyDownload  = "reply_download"  // the sender fetched a reply (Drop is the reply)
	EventTornTail       = "torn_tail"       // an unfinished last line (crash mid-write) was cut off; Count is its length
)

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	// Seq numbers lines from 1, without gaps.
	Seq int64 `json:"seq"`
	// At is when the event happened (UTC).
	At time.Time `json:"at"`
	// Event is one of the Event* constants.
	Event string `json:"event"`
	// Drop is the drop id, if any.
	Drop string `json:"drop,omitempty"`
	// Sender is the sender id, if known.
	Sender string `json:"sender,omitempty"`
	// Count is an event-specific number (downloads so far, failed codes).
	Count int `json:"count,omitempty"`
	// Keys, on a create line, are the certificate fingerprints of the
	// keys the drop is encrypted to, as its sender stated them; on a
	// receipt line, the fingerprint of the recipient key that signed it.
	Keys []string `json:"keys,omitempty"`
	// Prev is the hex SHA-256 of the previous line (without its newline);
	// 64 zeros on the first line.
	Prev string `json:"prev"`
	// KeyID and Sig are set on checkpoint lines only (see Checkpoint).
	KeyID string `json:"key_id,omitempty"`
	Sig   string `json:"sig,omitempty"`
}

// Auditor records audit events. The embedded implementation is AuditLog.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// zeroHash is Prev of the first line.
var zeroHash = strings.Repeat("0", 64)

// maxAuditLine bounds one line when reading the log back.
const maxAuditLine = 64 << 10

// AuditLog is an append-only, hash-chained JSON-lines file. Each line is
// fsynced before Record returns.
type AuditLog struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	size  int64 // bytes written (a failed write is cut back to it)
	seq   int64
	prev  string
	key   ed25519.PrivateKey
	every int64
	since int64 // records since the last checkpoint
	last  *Checkpoint
	now   func() time.Time
	gs    groupSync
}

// OpenAuditLog opens an unsigned log at path, verifying the chain already
// there. The relay uses OpenSignedAuditLog.
func OpenAuditLog(path string) (*AuditLog, error) {
	return OpenSignedAuditLog(path, nil, 0)
}

// OpenSignedAuditLog opens the log at path, verifying the chain and, when
// key is set, every checkpoint's signature. With a key, Record appends a
// signed checkpoint after every drop's terminal event and after every
// `every` records (DefaultCheckpointEvery when every <= 0).
func OpenSignedAuditLog(path string, key ed25519.PrivateKey, every int) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	torn, err := cutTornTail(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	var pub ed25519.PublicKey
	if key != nil {
		pub = key.Public().(ed25519.PublicKey)
	}
	rep, err := verifyAudit(f, pub)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if every <= 0 {
		every = DefaultCheckpointEvery
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	a := &AuditLog{path: path, f: f, size: size, seq: rep.Records, prev: rep.head, key: key, every: int64(every),
		since: rep.Unsigned, last: rep.LastCheckpoint, now: time.Now}
	a.gs.init(&a.mu, rep.Records, f.Sync)
	if torn > 0 {
		// Leave a trace in the chain itself.
		if err := a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventTornTail, Count: int(torn)}); err != nil {
			f.Close()
			return nil, err
		}
	}
	return a, nil
}

// cutTornTail removes an unfinished last line: one that a crash cut
// before its newline. Such a line was never fsynced as a whole, so no
// request was answered after it. It returns the number of bytes removed.
func cutTornTail(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return 0, err
	}
	if last[0] == '\n' {
		return 0, nil
	}
	// Find the last newline, reading backwards.
	keep := int64(0)
	buf := make([]byte, 4096)
	for end := size; end > 0 && keep == 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			keep = start + int64(i) + 1
		}
		end = start
	}
	if err := f.Truncate(keep); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return size - keep, nil
}

// checkpointAfter lists the events after which a checkpoint is signed at
// once: those that end a step of a drop's life a proof of delivery states.
var checkpointAfter = map[string]bool{
	EventComplete: true, EventUploadRejected: true, EventDownload: true, EventReceipt: true,
	EventRevoke: true, EventLock: true, EventExpire: true, EventExhaust: true,
}

// checkpointTime is the time of the checkpoint that follows e: e's own
// time, which the relay takes from its (injected) clock, so that a proof's
// times agree with each other; now only when e has none.
func checkpointTime(e AuditEvent, now func() time.Time) time.Time {
	if !e.At.IsZero() {
		return e.At
	}
	return now()
}

// Record appends e (its Seq and Prev are filled in) and, when due, a
// signed checkpoint, in one write; it returns once the lines are fsynced.
// Concurrent records share fsyncs (group commit): each caller waits for
// a sync that began after its own write. Inside a store's batched
// transaction (a context from withCommitHooks) it returns once written and
// the batch syncs the log before it commits. An error means the event may
// not be on disk: the caller must not report success for what it records.
func (a *AuditLog) Record(ctx context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.Event == EventCheckpoint {
		return errors.New("audit: checkpoints are written by the log itself")
	}
	if err := a.gs.err; err != nil {
		return err
	}
	lines, hash, err := ChainNext(a.seq, a.prev, e)
	if err != nil {
		return err
	}
	lines = append(lines, '\n')
	seq, prev, since := a.seq+1, hash, a.since+1
	var cp *Checkpoint
	if a.key != nil && (checkpointAfter[e.Event] || since >= a.every) {
		c := signCheckpoint(a.key, seq+1, prev, checkpointTime(e, a.now))
		line, hash, err := ChainNext(seq, prev, AuditEvent{At: c.At, Event: EventCheckpoint, KeyID: c.KeyID, Sig: c.Sig})
		if err != nil {
			return err
		}
		lines = append(append(lines, line...), '\n')
		seq, prev, since, cp = seq+1, hash, 0, &c
	}
	if err := a.write(lines); err != nil {
		return err
	}
	a.seq, a.prev, a.since = seq, prev, since
	if cp != nil {
		a.gs.pending = append(a.gs.pending, *cp)
	}
	if sl := syncSlotFrom(ctx); sl != nil {
		sl.defer_(func() error { return a.syncTo(seq) })
		return nil
	}
	return a.syncToLocked(seq)
}

// DropEvents returns the log's lines about drop, in order.
func (a *AuditLog) DropEvents(ctx context.Context, drop string) ([]AuditEvent, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return ReadDropEvents(f, drop)
}

// ReadDropEvents returns the lines of an audit log about drop, in order.
// An unfinished last line (being written) is left out.
func ReadDropEvents(r io.Reader, drop string) ([]AuditEvent, error) {
	sc := newAuditScanner(r, nil)
	var out []AuditEvent
	needle := []byte(`"drop":` + strconvQuote(drop))
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), needle) {
			continue
		}
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if e.Drop == drop {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// LastCheckpoint returns the latest signed checkpoint, or nil.
func (a *AuditLog) LastCheckpoint() *Checkpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		return nil
	}
	c := *a.last
	return &c
}

// write appends whole lines; a.mu is held. A short write is cut back so
// that the file never keeps half a line the chain does not know of (a
// full disk that frees up lets the log go on).
func (a *AuditLog) write(lines []byte) error {
	n, err := a.f.Write(lines)
	if err == nil {
		a.size += int64(n)
		return nil
	}
	if n > 0 {
		if terr := a.f.Truncate(a.size); terr != nil {
			// The file now holds a line the chain does not: refuse every
			// record until a restart cuts the torn tail.
			a.gs.fail(fmt.Errorf("audit: cut a failed write: %w", terr))
		}
	}
	return fmt.Errorf("audit: %w", err)
}

// ChainNext builds the line that follows a chain whose head is (seq,
// prev): e numbered seq+1 and linked to prev. It returns the line (without
// newline) and its hash, the chain's new head. Every Auditor appends
// through it, so one verifier checks any of them, and records computed
// above the store (signed checkpoints) chain the same way.
func ChainNext(seq int64, prev string, e AuditEvent) ([]byte, string, error) {
	e.Seq = seq + 1
	e.At = e.At.UTC()
	e.Prev = prev
	line, err := json.Marshal(e)
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	return line, lineHash(line), nil
}

// Close closes the file.
func (a *AuditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}

func lineHash(line []byte) string {
	h := sha256.Sum256(line)
	return hex.EncodeToString(h[:])
}

// ErrAuditBroken is wrapped by VerifyAudit's errors.
var ErrAuditBroken = errors.New("audit chain broken")

// VerifyAudit reads an audit log and checks that every line is well formed,
// numbered in sequence and carries the hash of the line before. It returns
// the number of lines checked. A last line without its newline is not
// checked (see AuditReport.Partial), so a log can be verified while the
// relay appends to it. It does not check signatures: see
// VerifySignedAudit.
func VerifyAudit(r io.Reader) (int64, error) {
	rep, err := verifyAudit(r, nil)
	return rep.Records, err
}

// AuditReport is what VerifySignedAudit found.
type AuditReport struct {
	// Records is the number of good lines (checkpoints included).
	Records int64
	// Checkpoints is the number of checkpoint lines whose signature holds.
	Checkpoints int64
	// LastCheckpoint is the latest of them, or nil.
	LastCheckpoint *Checkpoint
	// Unsigned counts the lines after the last checkpoint: intact, but
	// not yet vouched for by a signature.
	Unsigned int64
	// FirstBad is the number of the first line that cannot be trusted
	// when the check failed (0 when it passed).
	FirstBad int64
	// Partial is the length of an unfinished last line (no newline yet),
	// which is not checked: a running relay is writing it, or a crash cut
	// it and the relay removes it when it next starts. 0 when none.
	Partial int64

	head string
}

// VerifySignedAudit checks the chain like VerifyAudit and the signature of
// every checkpoint against pub. A log edited in the middle with every
// later hash recomputed keeps a sound chain, but the next checkpoint no
// longer signs its head: the error names the first line after the last
// checkpoint that still holds (the edited line is there or later), and
// the report's FirstBad carries it.
func VerifySignedAudit(r io.Reader, pub ed25519.PublicKey) (AuditReport, error) {
	if len(pub) != ed25519.PublicKeySize {
		return AuditReport{}, errors.New("verify audit: an Ed25519 audit key is required")
	}
	return verifyAudit(r, pub)
}

func verifyAudit(r io.Reader, pub ed25519.PublicKey) (AuditReport, error) {
	var rep AuditReport
	sc := newAuditScanner(r, &rep.Partial)
	prev := zeroHash
	fail := func(line int64, format string, args ...any) (AuditReport, error) {
		rep.FirstBad = line
		return rep, fmt.Errorf("%w: line %d: %s", ErrAuditBroken, line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line := sc.Bytes()
		n := rep.Records + 1
		var e AuditEvent
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fail(n, "%v", err)
		}
		if e.Seq != n {
			return fail(n, "sequence %d", e.Seq)
		}
		if e.Prev != prev {
			return fail(n, "previous hash mismatch")
		}
		if e.Event == EventCheckpoint {
			if pub != nil {
				if err := checkpointOf(e).Verify(pub); err != nil {
					first := int64(1)
					if rep.LastCheckpoint != nil {
						first = rep.LastCheckpoint.Seq + 1
					}
					rep.FirstBad = first
					return rep, fmt.Errorf("%w: line %d: %v: lines %d to %d changed after they were signed, or the checkpoint was forged (first line not vouched for: %d)",
						ErrAuditBroken, first, err, first, n-1, first)
				}
				c := checkpointOf(e)
				rep.LastCheckpoint = &c
				rep.Checkpoints++
			}
			rep.Unsigned = -1 // the checkpoint line itself is covered by the next
		} else if e.KeyID != "" || e.Sig != "" {
			return fail(n, "signature on a %q line", e.Event)
		}
		prev = lineHash(line)
		rep.Records = n
		rep.Unsigned++
	}
	if err := sc.Err(); err != nil {
		return fail(rep.Records+1, "%v", err)
	}
	rep.head = prev
	return rep, nil
}
