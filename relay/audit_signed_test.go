package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// rewriteFrom replaces line k (1-based) of log with edited and recomputes
// every later hash, as an insider who knows the format would.
func rewriteFrom(t *testing.T, log []byte, k int, edit func(*AuditEvent)) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(log), "\n"), "\n")
	var out bytes.Buffer
	prev := zeroHash
	for i, l := range lines {
		if i+1 >= k {
			var e AuditEvent
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			if i+1 == k {
				edit(&e)
			}
			e.Prev = prev
			b, _ := json.Marshal(e)
			l = string(b)
		}
		out.WriteString(l + "\n")
		prev = lineHash([]byte(l))
	}
	return out.Bytes()
}

func TestSignedAuditRefusesRewrittenHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	key, err := LoadOrCreateAuditKey(filepath.Join(filepath.Dir(path), "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	a, err := OpenSignedAuditLog(path, key, 4)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		ev := EventCreate
		if i == 6 {
			ev = EventDownload // a terminal event: checkpoint at once
		}
		if err := a.Record(context.Background(), AuditEvent{At: at, Event: ev, Drop: "d" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	last := a.LastCheckpoint()
	a.Close()
	log, _ := os.ReadFile(path)
	rep, err := VerifySignedAudit(bytes.NewReader(log), pub)
	if err != nil {
		t.Fatal(err)
	}
	// 4 records, checkpoint (5); 2 more and a download (8), checkpoint (9); 3 more.
	if rep.Records != 12 || rep.Checkpoints != 2 || rep.Unsigned != 3 || rep.LastCheckpoint.Seq != 9 || *last != *rep.LastCheckpoint {
		t.Fatalf("report %+v, last %+v", rep, last)
	}
	if err := last.Verify(pub); err != nil {
		t.Fatal(err)
	}
	// The hash chain alone cannot see a rewrite with recomputed hashes.
	forged := rewriteFrom(t, log, 7, func(e *AuditEvent) { e.Drop = "someone-else" })
	if _, err := VerifyAudit(bytes.NewReader(forged)); err != nil {
		t.Fatalf("rewritten chain should be sound as a chain: %v", err)
	}
	rep, err = VerifySignedAudit(bytes.NewReader(forged), pub)
	if !errors.Is(err, ErrAuditBroken) || rep.FirstBad != 6 || !strings.Contains(err.Error(), "line 6") {
		t.Fatalf("rewritten log: FirstBad %d, %v", rep.FirstBad, err)
	}
	// The relay refuses to extend it.
	os.WriteFile(path, forged, 0o600)
	if _, err := OpenSignedAuditLog(path, key, 4); err == nil {
		t.Fatal("rewritten log opened")
	}
	// Another key's checkpoints do not count.
	other, _ := LoadOrCreateAuditKey(filepath.Join(t.TempDir(), "k"))
	if _, err := VerifySignedAudit(bytes.NewReader(log), other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("foreign key: %v", err)
	}
	// A checkpoint line cannot be forged by hand, nor a signature slipped
	// onto an ordinary line.
	forged = rewriteFrom(t, log, 2, func(e *AuditEvent) { e.Sig, e.KeyID = last.Sig, last.KeyID })
	if _, err := VerifySignedAudit(bytes.NewReader(forged), pub); !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("signature on a plain line: %v", err)
	}
}

// failingAuditor fails every Record once armed.
type failingAuditor struct {
	inner Auditor
	fail  atomic.Bool
}

func (f *failingAuditor) Record(ctx context.Context, e AuditEvent) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.inner.Record(ctx, e)
}

// No state change without its record: with the audit log failing, the
// request fails and the store is unchanged.
func TestFailedAuditWriteFailsTheRequest(t *testing.T) {
	var fa *failingAuditor
	h := newHarness(t, func(c *Config) {
		fa = &failingAuditor{inner: c.Audit}
		c.Audit = fa
	})
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Mode: "link"})
	fa.fail.Store(true)
	resp, _ := h.do("POST", "/api/v1/drops", relayapi.CreateDropRequest{Size: 10, SHA256: strings.Repeat("a", 64), Mode: "link"}, h.auth()...)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("create with a failing audit log: %d", resp.StatusCode)
	}
	resp, _ = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("download with a failing audit log: %d", resp.StatusCode)
	}
	resp, _ = h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("revoke with a failing audit log: %d", resp.StatusCode)
	}
	d, err := h.srv.store.Drop(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Downloads != 0 || d.State != StateReady {
		t.Fatalf("state changed without its record: downloads %d, state %s", d.Downloads, d.State)
	}
	fa.fail.Store(false)
	if resp, _ := h.do("GET", "/api/v1/drops/"+id+"/blob", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("download after the log recovered: %d", resp.StatusCode)
	}
}

func TestAuditKeyEndpoint(t *testing.T) {
	h := newHarness(t)
	resp, _ := h.do("GET", "/.well-known/sealrelay/audit-key", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit key: %d", resp.StatusCode)
	}
	_, b := h.do("GET", "/.well-known/sealrelay/audit-key", nil)
	pub, err := ParseAuditPublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := LoadAuditPublicKey(h.data.AuditKey())
	if !pub.Equal(want) {
		t.Fatal("served audit key is not the data dir's")
	}
	// The complete answer carries a checkpoint signed by that key.
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Mode: "link"})
	_, b = h.do("GET", "/api/v1/drops/"+id+"/status", nil, h.auth()...)
	var st relayapi.DropStatus
	json.Unmarshal(b, &st)
	if st.Checkpoint == nil || st.Checkpoint.Verify(pub) != nil {
		t.Fatalf("status without a good checkpoint: %+v", st.Checkpoint)
	}
}

// Checkpoints take their time from the relay's clock (the event they
// follow), not from the wall clock: a proof's checkpoint agrees with its
// events, and tests with a fixed clock see fixed times.
func TestCheckpointTimeFromInjectedClock(t *testing.T) {
	h := newHarness(t)
	h.clock.Advance(-400 * 24 * time.Hour) // far from the wall clock
	h.ready([]byte("sealed"), relayapi.CreateDropRequest{Mode: "key"})
	cp := h.srv.lastCheckpoint()
	if cp == nil {
		t.Fatal("no checkpoint after a completed drop")
	}
	if !cp.At.Equal(h.clock.Now()) {
		t.Fatalf("checkpoint at %s, the relay's clock says %s", cp.At, h.clock.Now())
	}
	// A line without a time (none is written so today) falls back to the
	// log's clock.
	at := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := checkpointTime(AuditEvent{}, func() time.Time { return at }); !got.Equal(at) {
		t.Fatalf("checkpointTime without an event time: %s", got)
	}
}
