package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// downloadTokenTTL bounds how long the ranges of one counted download may
// be fetched: a large document read slowly (the recipient's page asks for
// it piece by piece as it decrypts) still finishes.
const downloadTokenTTL = 12 * time.Hour

// byteRange is one satisfiable range of a blob, end exclusive.
type byteRange struct{ start, end int64 }

var errBadRange = errors.New("unsatisfiable range")

// parseRange reads a Range header naming one range ("bytes=a-b" or
// "bytes=a-") of a blob of size bytes. ok is false when there is no header;
// several ranges, suffix ranges and ranges past the end are errBadRange.
func parseRange(h string, size int64) (r byteRange, ok bool, err error) {
	if h == "" {
		return byteRange{}, false, nil
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || len(spec) > 48 || strings.Contains(spec, ",") {
		return byteRange{}, true, errBadRange
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found || a == "" {
		return byteRange{}, true, errBadRange
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return byteRange{}, true, errBadRange
	}
	end := size
	if b != "" {
		last, err := strconv.ParseInt(b, 10, 64)
		if err != nil || last < start {
			return byteRange{}, true, errBadRange
		}
		if last < size-1 {
			end = last + 1
		}
	}
	return byteRange{start, end}, true, nil
}

// skipTo positions blob at offset: by seeking when it can, else by reading.
func skipTo(blob io.Reader, offset int64) error {
	if offset == 0 {
		return nil
	}
	if s, ok := blob.(io.Seeker); ok {
		_, err := s.Seek(offset, io.SeekStart)
		return err
	}
	_, err := io.CopyN(io.Discard, blob, offset)
	return err
}

// newDownloadToken returns the token that lets the rest of download
// number n of drop id be fetched by ranges until exp, without counting
// again and without the access-code grant (which lives minutes, not hours).
func newDownloadToken(key []byte, id string, n int, exp time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(exp.Unix()))
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	return base64.RawURLEncoding.EncodeToString(append(b[:], downloadMAC(key, id, b[:])...))
}

// checkDownloadToken reports whether tok continues a download of id at
// now, and which download it is.
func checkDownloadToken(key []byte, id, tok string, now time.Time) (int, bool) {
	if len(tok) > 128 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != 16+sha256.Size {
		return 0, false
	}
	if !hmac.Equal(b[16:], downloadMAC(key, id, b[:16])) {
		return 0, false
	}
	if !now.Before(time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)) {
		return 0, false
	}
	return int(binary.BigEndian.Uint64(b[8:])), true
}

func downloadMAC(key []byte, id string, head []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("download\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write(head)
	return m.Sum(nil)
}

// readingGrace is how long after serving a range the blob of an exhausted
// drop is kept for the rest of that download.
const readingGrace = 10 * time.Minute

// readingDrops remembers the drops whose blob is being read by ranges, so
// that the sweeper does not delete the blob of a drop exhausted by the
// very download still in progress. It is per process: with several relay
// replicas, route a drop's requests to one replica (or keep exhausted
// blobs for readingGrace).
type readingDrops struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// touch records that id's blob is being read at now.
func (r *readingDrops) touch(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = map[string]time.Time{}
	}
	for k, t := range r.until {
		if now.After(t) {
			delete(r.until, k)
		}
	}
	r.until[id] = now.Add(readingGrace)
}

// busy reports whether id's blob was read within readingGrace of now.
func (r *readingDrops) busy(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.until[id]
	return ok && now.Before(t)
}
