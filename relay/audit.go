package relay

import (
	"bufio"
	"bytes"
	"context"
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
	// Prev is the hex SHA-256 of the previous line (without its newline);
	// 64 zeros on the first line.
	Prev string `json:"prev"`
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
	mu   sync.Mutex
	f    *os.File
	seq  int64
	prev string
}

// OpenAuditLog opens the log at path, verifying the chain already there.
func OpenAuditLog(path string) (*AuditLog, error) {
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
	n, last, err := verifyAudit(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	a := &AuditLog{f: f, seq: n, prev: last}
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

// Record appends e (its Seq and Prev are filled in) and fsyncs the file.
func (a *AuditLog) Record(ctx context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.Seq = a.seq + 1
	e.At = e.At.UTC()
	e.Prev = a.prev
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := a.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a.seq = e.Seq
	a.prev = lineHash(line)
	return nil
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
// the number of lines checked.
func VerifyAudit(r io.Reader) (int64, error) {
	n, _, err := verifyAudit(r)
	return n, err
}

func verifyAudit(r io.Reader) (int64, string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxAuditLine)
	var n int64
	prev := zeroHash
	for sc.Scan() {
		line := sc.Bytes()
		var e AuditEvent
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return n, "", fmt.Errorf("%w: line %d: %v", ErrAuditBroken, n+1, err)
		}
		if e.Seq != n+1 {
			return n, "", fmt.Errorf("%w: line %d: sequence %d", ErrAuditBroken, n+1, e.Seq)
		}
		if e.Prev != prev {
			return n, "", fmt.Errorf("%w: line %d: previous hash mismatch", ErrAuditBroken, n+1)
		}
		prev = lineHash(line)
		n++
	}
	if err := sc.Err(); err != nil {
		return n, "", fmt.Errorf("%w: line %d: %v", ErrAuditBroken, n+1, err)
	}
	return n, prev, nil
}
