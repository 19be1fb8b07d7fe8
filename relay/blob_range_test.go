package relay

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// A large document is read by ranges: the first counts one download and
// hands a token; the next ranges need that token, count nothing, and get
// the right bytes.
func TestBlobRanges(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 10_000)
	id := h.ready(data, relayapi.CreateDropRequest{MaxDownloads: intp(2)})
	path := "/api/v1/drops/" + id + "/blob"

	resp, body := h.do("GET", path, nil, "Range", "bytes=0-3999")
	expect(t, resp, body, http.StatusPartialContent)
	tok := resp.Header.Get(relayapi.HeaderDownload)
	if tok == "" || !bytes.Equal(body, data[:4000]) || resp.Header.Get("Content-Range") != "bytes 0-3999/10000" {
		t.Fatalf("first range: token %q, %d bytes, Content-Range %q", tok, len(body), resp.Header.Get("Content-Range"))
	}
	// Without the token a range past the start is refused.
	resp, body = h.do("GET", path, nil, "Range", "bytes=4000-")
	expect(t, resp, body, http.StatusForbidden)
	// A token for another drop is refused.
	other := h.ready(data, relayapi.CreateDropRequest{})
	resp, _ = h.do("GET", "/api/v1/drops/"+other+"/blob", nil, "Range", "bytes=0-0")
	resp, body = h.do("GET", path, nil, "Range", "bytes=4000-", relayapi.HeaderDownload, resp.Header.Get(relayapi.HeaderDownload))
	expect(t, resp, body, http.StatusForbidden)
	for i := 0; i < 3; i++ { // continuing is not a new download
		resp, body = h.do("GET", path, nil, "Range", "bytes=4000-", relayapi.HeaderDownload, tok)
		expect(t, resp, body, http.StatusPartialContent)
		if !bytes.Equal(body, data[4000:]) || resp.Header.Get("Content-Range") != "bytes 4000-9999/10000" {
			t.Fatalf("second range: %d bytes, %q", len(body), resp.Header.Get("Content-Range"))
		}
	}
	if st := h.status(id); st.Downloads != 1 {
		t.Fatalf("%d downloads counted for one ranged download", st.Downloads)
	}
	for _, bad := range []string{"bytes=10000-", "bytes=0-1,5-6", "bytes=-500", "bytes=5-1", "items=0-1", "bytes=x-"} {
		resp, body = h.do("GET", path, nil, "Range", bad, relayapi.HeaderDownload, tok)
		expect(t, resp, body, http.StatusRequestedRangeNotSatisfiable)
	}
	// The download that uses up the limit is read to its end, even after
	// the sweeper ran; an earlier download's token no longer works.
	resp, body = h.do("GET", path, nil, "Range", "bytes=0-99")
	expect(t, resp, body, http.StatusPartialContent)
	last := resp.Header.Get(relayapi.HeaderDownload)
	resp, body = h.do("GET", path, nil, "Range", "bytes=0-")
	expect(t, resp, body, http.StatusGone)
	if n, err := h.srv.Sweep(context.Background()); n != 0 || err != nil {
		t.Fatalf("Sweep = %d, %v while the last download is read", n, err)
	}
	resp, body = h.do("GET", path, nil, "Range", "bytes=100-", relayapi.HeaderDownload, last)
	expect(t, resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[100:]) {
		t.Fatal("the last download's rest differs")
	}
	resp, body = h.do("GET", path, nil, "Range", "bytes=4000-", relayapi.HeaderDownload, tok)
	expect(t, resp, body, http.StatusGone)
	h.clock.Advance(readingGrace + time.Minute)
	if n, err := h.srv.Sweep(context.Background()); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v once the last download is done", n, err)
	}
	resp, body = h.do("GET", path, nil, "Range", "bytes=100-", relayapi.HeaderDownload, last)
	expect(t, resp, body, http.StatusGone)
}

// The token of a drop that needs a code stands in for the short-lived
// grant on later ranges, and expires.
func TestBlobRangeToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	tok := newDownloadToken(key, "drop-a", 3, now.Add(time.Hour))
	if n, ok := checkDownloadToken(key, "drop-a", tok, now); !ok || n != 3 {
		t.Fatalf("fresh token: %d, %v", n, ok)
	}
	if _, ok := checkDownloadToken(key, "drop-b", tok, now); ok {
		t.Fatal("token accepted for another drop")
	}
	if _, ok := checkDownloadToken(key, "drop-a", tok, now.Add(2*time.Hour)); ok {
		t.Fatal("token accepted after expiry")
	}
	if _, ok := checkDownloadToken(key, "drop-a", newGrant(key, "drop-a", now.Add(time.Hour)), now); ok {
		t.Fatal("an access-code grant passes for a download token")
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-", "bytes=0-99", "bytes=5-1", "bytes=-1", "bytes=1-2,3-4", "bytes= 7 - 9"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size <= 0 {
			return
		}
		r, ok, err := parseRange(h, size)
		if err != nil || !ok {
			return
		}
		if r.start < 0 || r.start >= r.end || r.end > size {
			t.Fatalf("parseRange(%q, %d) = %+v", h, size, r)
		}
	})
}
