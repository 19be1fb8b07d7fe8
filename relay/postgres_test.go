package relay

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.StopSharedPostgres()
	os.Exit(code)
}

// openTestPG opens a PGStore on a fresh database of the shared cluster.
func openTestPG(t *testing.T, opts PGOptions) (*PGStore, string) {
	t.Helper()
	url := testutil.SharedPostgres(t).NewDB(t)
	st, err := OpenPostgres(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, url
}

func TestPostgresStore(t *testing.T) {
	st, url := openTestPG(t, PGOptions{CallerClock: true})
	testStoreContract(t, st)
	// Reopening applies no migration twice and sees the data.
	again, err := OpenPostgres(context.Background(), url, PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if all, err := again.Drops(context.Background()); err != nil || len(all) != 8 {
		t.Fatalf("reopened: %d drops, %v", len(all), err)
	}
}

// Replicas starting together migrate once: the advisory lock serializes
// them and none fails on a half-created schema.
func TestPostgresMigrateConcurrently(t *testing.T) {
	url := testutil.SharedPostgres(t).NewDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := OpenPostgres(context.Background(), url, PGOptions{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := OpenPostgres(context.Background(), url, PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	files, _ := pgMigrations.ReadDir("migrations/postgres")
	if err := st.pool.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(files) {
		t.Fatalf("schema_migrations rows = %d, %v", n, err)
	}
}

// With the database's clock, expiry is judged by now() whatever the caller
// says.
func TestPostgresDatabaseClock(t *testing.T) {
	st, _ := openTestPG(t, PGOptions{})
	ctx := context.Background()
	snd, _, err := CreateSender(ctx, st, "Dr Durand", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	d := &Drop{ID: "dcAAAAAAAAAAAAAAAAAAAA", SenderID: snd.ID, Size: 1, SHA256: "ab", Mode: "key",
		CreatedAt: past.Add(-time.Hour), ExpiresAt: past, State: StateReady}
	if _, _, err := st.CreateDrop(ctx, d); err != nil {
		t.Fatal(err)
	}
	// A replica whose clock lags two hours still sees the drop expired.
	if _, ok, err := st.CountDownload(ctx, d.ID, past.Add(-time.Hour), nil); ok || err != nil {
		t.Fatalf("expired drop downloaded with a slow caller clock: %v, %v", ok, err)
	}
}

// Appends from many goroutines (replicas) make one unbroken chain.
func TestPostgresAuditChain(t *testing.T) {
	st, _ := openTestPG(t, PGOptions{})
	st2, err := OpenPostgres(context.Background(), st.pool.Config().ConnString(), PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := Auditor(st)
			if i%2 == 1 {
				a = st2
			}
			if err := a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventDownload, Drop: "x", Count: i}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var buf bytes.Buffer
	if err := st.WriteAudit(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	n, err := VerifyAudit(bytes.NewReader(buf.Bytes()))
	if err != nil || n != 40 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	// An edited line breaks the chain. The first download line is edited:
	// it is never the last (39 follow it), whose edit only a checkpoint
	// would show; count 7's line was last in about 1 run of 40.
	bad := bytes.Replace(buf.Bytes(), []byte(`"event":"download"`), []byte(`"event":"downloax"`), 1)
	if _, err := VerifyAudit(bytes.NewReader(bad)); err == nil {
		t.Fatal("edited chain verified")
	}
}

// countingBlobs counts deletions per id and can be made to fail them.
type countingBlobs struct {
	Blobs
	mu      sync.Mutex
	fail    bool
	deletes map[string]int
}

func (b *countingBlobs) Delete(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return errors.New("storage unavailable")
	}
	b.deletes[id]++
	return b.Blobs.Delete(ctx, id)
}

// Deleting a drop's data is a state of its own: drops whose delete failed
// stay "deleting" until a sweep deletes them, and two replicas sweeping at
// once (FOR UPDATE SKIP LOCKED) each take different drops.
func TestPostgresSweepDeletions(t *testing.T) {
	pg, _ := openTestPG(t, PGOptions{CallerClock: true})
	files, err := NewFileBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobs := &countingBlobs{Blobs: files, deletes: map[string]int{}}
	opt := func(c *Config) { c.Store, c.Audit, c.Blobs = pg, pg, blobs }
	a, b := newHarness(t, opt), newHarness(t, opt)
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, a.ready(randomBytes(t, 100), relayapi.CreateDropRequest{}))
	}
	blobs.mu.Lock()
	blobs.fail = true
	blobs.mu.Unlock()
	for _, id := range ids {
		resp, body := a.do("DELETE", "/api/v1/drops/"+id, nil, a.auth()...)
		expect(t, resp, body, http.StatusNoContent)
	}
	if _, err := a.srv.Sweep(context.Background()); err == nil {
		t.Fatal("sweep with failing storage reported no error")
	}
	for _, id := range ids {
		if _, _, err := files.Open(context.Background(), id); err != nil {
			t.Fatalf("blob of %s gone although deleting failed: %v", id, err)
		}
	}
	blobs.mu.Lock()
	blobs.fail = false
	blobs.mu.Unlock()
	var wg sync.WaitGroup
	for _, h := range []*harness{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.srv.Sweep(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if _, _, err := files.Open(context.Background(), id); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("blob of %s left: %v", id, err)
		}
		if blobs.deletes[id] != 1 {
			t.Fatalf("drop %s deleted %d times by the two sweepers", id, blobs.deletes[id])
		}
	}
	var left int
	pg.pool.QueryRow(context.Background(), "SELECT count(*) FROM drops WHERE NOT data_deleted AND state = 'revoked'").Scan(&left)
	if left != 0 {
		t.Fatalf("%d drops still deleting", left)
	}
}

// In PostgreSQL a change and its audit record commit together: when the
// record cannot be written, the download is not counted, the drop not
// revoked, and the request fails.
func TestPostgresAuditInSameTransaction(t *testing.T) {
	pg, _ := openTestPG(t, PGOptions{CallerClock: true})
	h := newHarness(t, func(c *Config) { c.Store, c.Audit = pg, pg })
	ctx := context.Background()
	id := h.ready(randomBytes(t, 100), relayapi.CreateDropRequest{MaxDownloads: intp(3)})
	if _, err := pg.pool.Exec(ctx, `ALTER TABLE audit ADD CONSTRAINT refuse CHECK (false) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusInternalServerError)
	resp, body = h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	expect(t, resp, body, http.StatusInternalServerError)
	if st := h.status(id); st.Downloads != 0 || st.State != StateReady {
		t.Fatalf("changes without their audit record were stored: %+v", st)
	}
	if _, err := pg.pool.Exec(ctx, `ALTER TABLE audit DROP CONSTRAINT refuse`); err != nil {
		t.Fatal(err)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	var buf bytes.Buffer
	pg.WriteAudit(ctx, &buf)
	if n, err := VerifyAudit(&buf); err != nil || n != 4 { // create, upload, complete, download
		t.Fatalf("audit chain: %d records, %v", n, err)
	}
}

// The database's checkpoints take the time of the event they follow (the
// relay's clock), as the file log's do.
func TestPostgresCheckpointTime(t *testing.T) {
	st, _ := openTestPG(t, PGOptions{})
	key, err := st.AuditKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.SetAuditKey(key, 0)
	at := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := st.Record(context.Background(), AuditEvent{At: at, Event: EventComplete, Drop: "x"}); err != nil {
		t.Fatal(err)
	}
	cp := st.LastCheckpoint()
	if cp == nil || !cp.At.Equal(at) {
		t.Fatalf("checkpoint %+v, want at %s", cp, at)
	}
}
