package relay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// s3Recorder is the S3 client's transport in a test: it notes the Range
// header of each GetObject of a blob and counts the body bytes the
// server sent for it.
type s3Recorder struct {
	mu     sync.Mutex
	ranges []string
	read   int64
}

func (r *s3Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/"+s3BlobPrefix) {
		return resp, err
	}
	r.mu.Lock()
	r.ranges = append(r.ranges, req.Header.Get("Range"))
	r.mu.Unlock()
	resp.Body = &recordedBody{ReadCloser: resp.Body, r: r}
	return resp, nil
}

func (r *s3Recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ranges, r.read = nil, 0
}

type recordedBody struct {
	io.ReadCloser
	r *s3Recorder
}

func (c *recordedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.r.mu.Lock()
	c.r.read += int64(n)
	c.r.mu.Unlock()
	return n, err
}

// A ranged download in S3 mode asks versitygw for exactly that range: the
// right bytes come back and the prefix is never read from the bucket.
func TestS3RangedDownload(t *testing.T) {
	testutil.NeedIntegration(t)
	rec := &s3Recorder{}
	h := newHarness(t, func(c *Config) {
		gw := testutil.StartVersitygw(t)
		o, err := ParseS3URL(gw.S3URL("drops"))
		if err != nil {
			t.Fatal(err)
		}
		o.AccessKey, o.SecretKey = gw.AccessKey, gw.SecretKey
		o.HTTPClient = &http.Client{Transport: rec}
		b, err := NewS3Blobs(o, filepath.Join(t.TempDir(), "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.CreateBucket(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Blobs = b
		c.MaxSize = 16 << 20
	})
	data := randomBytes(t, 3<<20)
	id := h.ready(data, relayapi.CreateDropRequest{})
	path := "/api/v1/drops/" + id + "/blob"

	rec.reset()
	resp, body := h.do("GET", path, nil, "Range", "bytes=0-99")
	expect(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[:100]) {
		t.Fatal("first range differs")
	}
	tok := resp.Header.Get(relayapi.HeaderDownload)
	const start = 2_000_000
	resp, body = h.do("GET", path, nil, "Range", "bytes=2000000-", relayapi.HeaderDownload, tok)
	expect(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[start:]) {
		t.Fatalf("range from %d: %d bytes, not the blob's", start, len(body))
	}
	if want := []string{"bytes=0-99", "bytes=2000000-3145727"}; strings.Join(rec.ranges, " ") != strings.Join(want, " ") {
		t.Fatalf("GetObject ranges %q, want %q", rec.ranges, want)
	}
	if want := int64(100 + len(data) - start); rec.read != want {
		t.Fatalf("read %d bytes from the bucket for %d served", rec.read, want)
	}
	// A download with no range still reads the object once, whole.
	rec.reset()
	resp, body = h.do("GET", path, nil)
	expect(t, resp, body, http.StatusOK)
	if !bytes.Equal(body, data) || rec.read != int64(len(data)) {
		t.Fatalf("whole download: %d bytes served, %d read", len(body), rec.read)
	}
}

// contentRangeSize reads what an S3 server answers; any input is safe and
// a size it accepts is the number after the slash.
func FuzzContentRangeSize(f *testing.F) {
	for _, s := range []string{"bytes 0-99/3145728", "bytes */100", "bytes 1-2/", "bytes 1-2/-5", "", "bytes 0-0/9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		n, ok := contentRangeSize(h)
		if !ok {
			return
		}
		_, total, _ := strings.Cut(h, "/")
		if m, err := strconv.ParseInt(total, 10, 64); n < 0 || err != nil || m != n {
			t.Fatalf("contentRangeSize(%q) = %d", h, n)
		}
	})
}

func TestContentRangeSize(t *testing.T) {
	for h, want := range map[string]int64{"bytes 0-99/3145728": 3145728, "bytes 5-5/6": 6} {
		if n, ok := contentRangeSize(h); !ok || n != want {
			t.Errorf("contentRangeSize(%q) = %d, %v", h, n, ok)
		}
	}
	for _, bad := range []string{"", "bytes 0-1", "bytes 0-1/x", "bytes 0-1/-1", "items 0-1/5"} {
		if _, ok := contentRangeSize(bad); ok {
			t.Errorf("contentRangeSize(%q) accepted", bad)
		}
	}
}
