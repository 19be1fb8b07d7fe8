package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// Downloads from a plain-HTTP bucket go through the direct reader (its
// body is what the handler splices): ranges and whole downloads come back
// exact, and its connections are reused.
func TestS3DirectDownloads(t *testing.T) {
	testutil.NeedIntegration(t)
	var blobs *S3Blobs
	h := newHarness(t, func(c *Config) {
		blobs = testS3Blobs(t, filepath.Join(t.TempDir(), "tmp"))
		c.Blobs = blobs
		c.MaxSize = 16 << 20
	})
	if blobs.direct == nil {
		t.Fatal("no direct reader for a plain-HTTP endpoint")
	}
	data := randomBytes(t, 3<<20)
	id := h.ready(data, relayapi.CreateDropRequest{})
	path := "/api/v1/drops/" + id + "/blob"

	resp, body := h.do("GET", path, nil, "Range", "bytes=0-99")
	expect(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[:100]) {
		t.Fatal("first range differs")
	}
	tok := resp.Header.Get(relayapi.HeaderDownload)
	resp, body = h.do("GET", path, nil, "Range", "bytes=2000000-", relayapi.HeaderDownload, tok)
	expect(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[2000000:]) {
		t.Fatalf("range from 2000000: %d bytes, not the blob's", len(body))
	}
	resp, body = h.do("GET", path, nil)
	expect(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) {
		t.Fatalf("whole download: %d bytes, not the blob", len(body))
	}
	// The handler gives its connection back when it closes the body,
	// which may come just after the client has read the last byte.
	idle := 0
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		blobs.direct.mu.Lock()
		idle = len(blobs.direct.idle)
		blobs.direct.mu.Unlock()
		if idle == 1 || time.Now().After(deadline) {
			break
		}
	}
	if idle != 1 {
		t.Fatalf("%d idle bucket connections after three sequential reads, want 1 (reused)", idle)
	}

	ctx := context.Background()
	r, size, err := blobs.OpenRange(ctx, id, 10, 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*directBody); !ok || size != int64(len(data)) {
		t.Fatalf("OpenRange: %T, size %d", r, size)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data[10:20]) {
		t.Fatal("OpenRange 10-20 differs")
	}
	if _, _, err := blobs.OpenRange(ctx, mustDropID(t), 0, 10); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing blob: %v, want fs.ErrNotExist", err)
	}
}

// A kept connection the bucket closed is replaced once; a body cut short
// by its context's end is not kept; an answer the direct reader does not
// expect (here: refused credentials) falls back to the SDK.
func TestS3DirectFailures(t *testing.T) {
	testutil.NeedIntegration(t)
	b := testS3Blobs(t, t.TempDir())
	ctx := context.Background()
	id := mustDropID(t)
	data := randomBytes(t, 1<<20)
	if err := b.Put(ctx, id, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	read := func(ctx context.Context, start, end int64) ([]byte, error) {
		r, _, err := b.OpenRange(ctx, id, start, end)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	if got, err := read(ctx, 0, 100); err != nil || !bytes.Equal(got, data[:100]) {
		t.Fatalf("first read: %v", err)
	}
	// Stale: the kept connection is dead.
	b.direct.mu.Lock()
	if len(b.direct.idle) != 1 {
		t.Fatalf("%d idle connections, want 1", len(b.direct.idle))
	}
	b.direct.idle[0].c.Close()
	b.direct.mu.Unlock()
	if got, err := read(ctx, 100, 200); err != nil || !bytes.Equal(got, data[100:200]) {
		t.Fatalf("read after the kept connection died: %v", err)
	}

	// Cut short: cancelled mid-body.
	cctx, cancel := context.WithCancel(ctx)
	r, _, err := b.OpenRange(cctx, id, 0, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*directBody); !ok {
		t.Fatalf("OpenRange: %T, not the direct reader", r)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, r); err == nil {
		t.Fatal("a cancelled read of 1 MiB went on to its end")
	}
	r.Close()
	b.direct.mu.Lock()
	idle := len(b.direct.idle)
	b.direct.mu.Unlock()
	if idle != 0 {
		t.Fatalf("a connection cut mid-body was kept (%d idle)", idle)
	}

	// Refused: the direct reader signs with a wrong secret (a new signer:
	// the old one caches the derived key); the SDK (the right secret)
	// answers.
	b.direct.creds.SecretAccessKey = "wrong"
	b.direct.signer = v4.NewSigner()
	r, _, err = b.OpenRange(ctx, id, 5, 50)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*directBody); ok {
		t.Fatal("a refused direct read was answered by the direct reader")
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data[5:50]) {
		t.Fatal("fallback read differs")
	}
}

// A download from the bucket that lasts longer than the time allowed for
// small request bodies is not cut: net/http's background read of the
// connection hit that deadline and cancelled the request's context.
func TestS3SlowDownloadNotCut(t *testing.T) {
	testutil.NeedIntegration(t)
	old := otherBodyTimeout
	otherBodyTimeout = 200 * time.Millisecond
	t.Cleanup(func() { otherBodyTimeout = old })
	h := newHarness(t, func(c *Config) {
		c.Blobs = testS3Blobs(t, filepath.Join(t.TempDir(), "tmp"))
		c.MaxSize = 32 << 20
	})
	data := randomBytes(t, 24<<20) // more than the sockets between hold
	id := h.ready(data, relayapi.CreateDropRequest{})
	for _, rng := range []string{"", "bytes=0-"} {
		req, _ := http.NewRequest("GET", h.ts.URL+"/api/v1/drops/"+id+"/blob", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, 64<<10)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatal(err)
		}
		// A reader slower than the deadline: the relay's writes block
		// past it (a wait that makes the condition, not a timed check).
		time.Sleep(4 * otherBodyTimeout)
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(append(first, rest...), data) {
			t.Fatalf("Range %q: slow download cut after %d of %d bytes: %v", rng, len(first)+len(rest), len(data), err)
		}
	}
}
