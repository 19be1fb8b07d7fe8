package uploader

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

func newTestClient(t testing.TB, r *fakeRelay, opts Options) *Client {
	t.Helper()
	if opts.CA == "" {
		opts.CA = r.caFile
	}
	if opts.Getenv == nil {
		opts.Getenv = envMap(nil)
	}
	if opts.Sleep == nil {
		opts.Sleep = shortSleep
	}
	c, err := New(r.URL(), r.token, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendDirect(t *testing.T) {
	r := newFakeRelay(t)
	f, sum := testFile(t, 3<<20+17)
	var last atomic.Int64
	c := newTestClient(t, r, Options{ChunkSize: 1 << 20, MinChunk: 64 << 10})
	d, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: 3<<20 + 17, Mode: "key"}, f, func(sent, total int64) {
		last.Store(sent)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "ready" || last.Load() != 3<<20+17 {
		t.Fatalf("state %s, progress %d", d.State, last.Load())
	}
	var buf bytes.Buffer
	n, err := c.Download(testCtx(t), d.ID, "", &buf)
	if err != nil || n != 3<<20+17 {
		t.Fatal(n, err)
	}
	got := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(got[:]) != sum {
		t.Fatal("downloaded bytes differ")
	}
	if r.patched.Load() != 3<<20+17 {
		t.Fatalf("relay received %d bytes, want exactly the size", r.patched.Load())
	}
}

func TestUploadResumesAfterCreate409(t *testing.T) {
	r := newFakeRelay(t)
	f, sum := testFile(t, 1<<20)
	c := newTestClient(t, r, Options{ChunkSize: 256 << 10})
	ctx := testCtx(t)
	d, err := c.CreateDrop(ctx, relayapi.CreateDropRequest{Size: 1 << 20, SHA256: sum, Mode: "key"})
	if err != nil {
		t.Fatal(err)
	}
	// Send half, then "lose" the client: a new client must resume, not restart.
	err = c.Upload(ctx, d.ID, &limitedReaderAt{f, 512 << 10}, 1<<20, nil)
	var le *LocalReadError
	if !errors.As(err, &le) || !IsPermanent(err) {
		t.Fatalf("local read error: %v", err)
	}
	before := r.patched.Load()
	c2 := newTestClient(t, r, Options{ChunkSize: 256 << 10})
	if err := c2.Upload(ctx, d.ID, f, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	// Complete as Send does, with its retries: the relay may still be
	// finishing the first client's broken request.
	if err := c2.retryCall(ctx, func() error { return c2.Complete(ctx, d.ID) }); err != nil {
		t.Fatal(err)
	}
	// The relay kept what arrived before the failure (at least the first
	// chunks): the second client resumes, it does not start over.
	if sent := r.patched.Load() - before; sent < 512<<10 || sent >= 1<<20 {
		t.Fatalf("second client sent %d bytes, want the missing part only", sent)
	}
}

// limitedReaderAt fails reads past n, as a truncated local file would.
type limitedReaderAt struct {
	r interface {
		ReadAt([]byte, int64) (int, error)
	}
	n int64
}

func (l *limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= l.n {
		return 0, errors.New("local read error")
	}
	if off+int64(len(p)) > l.n {
		p = p[:l.n-off]
	}
	return l.r.ReadAt(p, off)
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	for _, status := range []int{401, 403, 404, 413, 400} {
		r := newFakeRelay(t)
		var calls atomic.Int32
		r.hook = func(w http.ResponseWriter, req *http.Request) bool {
			if strings.HasPrefix(req.URL.Path, "/api/v1/uploads/") {
				calls.Add(1)
				writeJSON(w, status, map[string]string{"error": "nope"})
				return true
			}
			return false
		}
		s := &noSleep{}
		c := newTestClient(t, r, Options{Sleep: s.Sleep})
		f, _ := testFile(t, 1000)
		err := c.Upload(testCtx(t), "AAAAAAAAAAAAAAAAAAAAAA", f, 1000, nil)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != status || !IsPermanent(err) {
			t.Fatalf("status %d: err %v", status, err)
		}
		want := int32(1)
		if status == 404 {
			want = 2 // HEAD says "no upload yet", then the create is refused
		}
		if calls.Load() != want || len(s.delays) != 0 {
			t.Fatalf("status %d: %d calls, %d sleeps", status, calls.Load(), len(s.delays))
		}
	}
}

func TestTemporaryErrorsRetriedWithBackoff(t *testing.T) {
	r := newFakeRelay(t)
	var fails atomic.Int32
	r.hook = func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPatch && fails.Add(1) <= 4 {
			codes := []int{500, 503, 429, 423}
			writeJSON(w, codes[fails.Load()-1], map[string]string{"error": "busy"})
			return true
		}
		return false
	}
	s := &noSleep{}
	c := newTestClient(t, r, Options{Sleep: s.Sleep})
	f, sum := testFile(t, 100<<10)
	d, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: 100 << 10, SHA256: sum, Mode: "link"}, f, nil)
	if err != nil || d.State != "ready" {
		t.Fatal(d, err)
	}
	if len(s.delays) != 4 {
		t.Fatalf("%d sleeps, want 4", len(s.delays))
	}
	for i := 1; i < len(s.delays); i++ {
		if s.delays[i] <= s.delays[i-1]/2 {
			t.Fatalf("delays do not grow: %v", s.delays)
		}
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	r := newFakeRelay(t)
	r.hook = func(w http.ResponseWriter, req *http.Request) bool {
		if strings.HasPrefix(req.URL.Path, "/api/v1/uploads/") {
			writeJSON(w, 503, map[string]string{"error": "down"})
			return true
		}
		return false
	}
	s := &noSleep{}
	c := newTestClient(t, r, Options{Sleep: s.Sleep, Retry: RetryPolicy{Attempts: 5}})
	f, _ := testFile(t, 10)
	err := c.Upload(testCtx(t), "AAAAAAAAAAAAAAAAAAAAAA", f, 10, nil)
	if err == nil || !IsTemporary(err) || len(s.delays) != 4 {
		t.Fatalf("err %v, %d sleeps", err, len(s.delays))
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	for n := 1; n < 20; n++ {
		lo, hi := p.delay(n, func() float64 { return 0 }), p.delay(n, func() float64 { return 0.999999 })
		if lo > hi || hi > p.Max || lo < p.Base/2 {
			t.Fatalf("n=%d: %v..%v", n, lo, hi)
		}
	}
	if p.delay(30, func() float64 { return 0.999999 }) > 30e9 {
		t.Fatal("cap not applied")
	}
}

func TestChunkSizer(t *testing.T) {
	s := newChunkSizer(1<<20, 256<<10, 8<<20)
	s.success(1<<20, 0)
	s.success(2<<20, 0)
	s.success(4<<20, 0)
	s.success(8<<20, 0)
	if s.cur != 8<<20 {
		t.Fatal(s.cur)
	}
	for range 10 {
		s.failure()
	}
	if s.cur != 256<<10 {
		t.Fatal(s.cur)
	}
	s.success(256<<10, slowChunk*2)
	if s.cur != 256<<10 {
		t.Fatal(s.cur)
	}
}

func TestBadDropIDRejected(t *testing.T) {
	r := newFakeRelay(t)
	c := newTestClient(t, r, Options{})
	for _, id := range []string{"", "../x", "a/b", "a?b", strings.Repeat("a", 65)} {
		if err := c.Upload(testCtx(t), id, bytes.NewReader(nil), 0, nil); err == nil {
			t.Fatalf("id %q accepted", id)
		}
		if _, err := c.Status(testCtx(t), id); err == nil {
			t.Fatalf("id %q accepted", id)
		}
	}
}

func TestBadTokenIsPermanent(t *testing.T) {
	r := newFakeRelay(t)
	c, err := New(r.URL(), "other", Options{CA: r.caFile, Getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDrop(testCtx(t), relayapi.CreateDropRequest{Size: 1, SHA256: zeroSum, Mode: "key"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Fatal(err)
	}
}

func TestChunkShrinksUnderProxyBodyLimit(t *testing.T) {
	r := newFakeRelay(t)
	const limit = 300 << 10
	r.hook = func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPatch && req.ContentLength > limit {
			w.Header().Set("X-Squid-Error", "ERR_TOO_BIG 0")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return true
		}
		return false
	}
	c := newTestClient(t, r, Options{ChunkSize: 4 << 20, MinChunk: 256 << 10})
	f, sum := testFile(t, 1<<20)
	if _, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: 1 << 20, SHA256: sum, Mode: "key"}, f, nil); err != nil {
		t.Fatal(err)
	}
	// At the smallest chunk, a 413 is final.
	c = newTestClient(t, r, Options{ChunkSize: 512 << 10, MinChunk: 512 << 10})
	_, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: 1 << 20, SHA256: sum, Mode: "key"}, f, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 413 || !strings.Contains(err.Error(), "ERR_TOO_BIG") {
		t.Fatalf("err = %v", err)
	}
}
