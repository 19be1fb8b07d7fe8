package relay

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// heldSync replaces an audit log's fsync: each call blocks until release
// and is counted.
type heldSync struct {
	calls   atomic.Int32
	release chan struct{}
	fail    atomic.Bool
}

func holdSyncs(a *AuditLog) *heldSync {
	h := &heldSync{release: make(chan struct{})}
	a.mu.Lock()
	a.gs.fsync = func() error {
		h.calls.Add(1)
		<-h.release
		if h.fail.Load() {
			return errors.New("injected fsync failure")
		}
		return nil
	}
	a.mu.Unlock()
	return h
}

// waitFor polls cond (a state, not a time) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (a *AuditLog) written() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seq
}

// Concurrent records share fsyncs, and none returns before an fsync that
// began after its own write has ended.
func TestAuditGroupSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := holdSyncs(a)
	const n = 20
	var returned atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventDownload, Drop: "d", Count: i}); err != nil {
				t.Error(err)
			}
			returned.Add(1)
		}()
	}
	// Every record is written while the first fsync is held.
	waitFor(t, "all records written", func() bool { return a.written() == n })
	if r := returned.Load(); r != 0 {
		t.Fatalf("%d records returned before any fsync ended", r)
	}
	close(h.release)
	wg.Wait()
	if c := h.calls.Load(); c > 3 || c < 1 {
		t.Fatalf("%d fsyncs for %d concurrent records; want them shared (1 to 3)", c, n)
	}
	b, _ := os.ReadFile(path)
	if got, err := VerifyAudit(strings.NewReader(string(b))); err != nil || got != n {
		t.Fatalf("VerifyAudit = %d, %v", got, err)
	}
}

// A checkpoint is handed out only once it is on disk, and a failed fsync
// fails the records it was to cover and every later one.
func TestAuditCheckpointOnlyOnceDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenSignedAuditLog(path, testAuditKey(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := holdSyncs(a)
	done := make(chan error, 1)
	go func() {
		done <- a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventComplete, Drop: "d"})
	}()
	waitFor(t, "event and checkpoint written", func() bool { return a.written() == 2 })
	if c := a.LastCheckpoint(); c != nil {
		t.Fatalf("checkpoint %d handed out before its fsync", c.Seq)
	}
	h.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := a.LastCheckpoint(); c == nil || c.Seq != 2 {
		t.Fatalf("checkpoint after the fsync: %+v", c)
	}

	h.fail.Store(true)
	go func() {
		done <- a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventDownload, Drop: "d"})
	}()
	h.release <- struct{}{}
	if err := <-done; err == nil {
		t.Fatal("record succeeded with a failed fsync")
	}
	if c := a.LastCheckpoint(); c == nil || c.Seq != 2 {
		t.Fatalf("checkpoint of a failed fsync handed out: %+v", c)
	}
	h.fail.Store(false)
	close(h.release)
	if err := a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventDownload, Drop: "d"}); err == nil {
		t.Fatal("record accepted after a failed fsync")
	}
}

func testAuditKey(t *testing.T) []byte {
	t.Helper()
	k, err := LoadOrCreateAuditKey(filepath.Join(t.TempDir(), "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Changes waiting for the SQLite writer share one transaction; one that
// fails is rolled back alone.
func TestSQLiteBatchedChanges(t *testing.T) {
	st, err := OpenSQLite(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	snd := &Sender{ID: "s1", Name: "Dr Durand", TokenHash: []byte("h1"), CreatedAt: time.Now()}
	if err := st.AddSender(ctx, snd); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 0; i < n; i++ {
		d := &Drop{ID: mustDropID(t), SenderID: snd.ID, Size: 1, SHA256: strings.Repeat("a", 64), Mode: "link",
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), State: StatePending}
		if _, _, err := st.CreateDrop(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	drops, err := st.Drops(ctx)
	if err != nil || len(drops) != n {
		t.Fatalf("drops: %d, %v", len(drops), err)
	}
	// Hold the writer in a first change while the others queue up.
	hold, held := make(chan struct{}), make(chan struct{})
	go st.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	b0, _ := st.w.stats()
	boom := errors.New("refused")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, d := range drops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 7 {
				// Fails after writing: its write must go, the others stay.
				errs[i] = st.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `UPDATE drops SET state = ? WHERE id = ?`, StateReady, d.ID); err != nil {
						return err
					}
					return boom
				})
				return
			}
			_, errs[i] = st.UpdateDrop(ctx, d.ID, func(d *Drop) error {
				d.State = StateReady
				return nil
			})
		}()
	}
	waitFor(t, "changes queued", func() bool { return st.w.waiting.Load() == n })
	close(hold)
	wg.Wait()
	b1, _ := st.w.stats()
	if b1-b0 > 3 {
		t.Fatalf("%d transactions for %d queued changes; want them batched", b1-b0, n)
	}
	for i, d := range drops {
		got, err := st.Drop(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := StateReady
		if i == 7 {
			want = StatePending
			if !errors.Is(errs[i], boom) {
				t.Fatalf("failed change: %v", errs[i])
			}
		} else if errs[i] != nil {
			t.Fatalf("change %d: %v", i, errs[i])
		}
		if got.State != want {
			t.Fatalf("drop %d: %s, want %s", i, got.State, want)
		}
	}
}

// An embedded relay killed with SIGKILL during 50 uploads loses no
// upload it acknowledged as complete and corrupts none: group commit
// answers nobody before their change and its record are durable.
func TestEmbeddedKill9DuringUploads(t *testing.T) {
	testutil.NeedIntegration(t)
	bin := testutil.Binary(t, "sealrelay")
	data := filepath.Join(t.TempDir(), "data")
	c := &cluster{t: t, bin: bin, storage: []string{"--data", data}, env: os.Environ(),
		client: &http.Client{Timeout: 2 * time.Minute}}
	c.token = strings.TrimSpace(c.run("token", "create", "--name", "Dr Durand"))
	a := c.start()
	killDuringUploads(t, c, a, a, c.start)
	if out := c.run("audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %s", out)
	}
}

func mustDropID(t *testing.T) string {
	t.Helper()
	id, err := relayapi.NewDropID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
