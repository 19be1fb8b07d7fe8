package uploader

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testFile writes size random bytes to a temp file and returns it open,
// with its hex SHA-256.
func testFile(t testing.TB, size int64) (*os.File, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cipher.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		rand.Read(buf[:n])
		f.Write(buf[:n])
		h.Write(buf[:n])
		left -= n
	}
	t.Cleanup(func() { f.Close() })
	return f, hex.EncodeToString(h.Sum(nil))
}

// noSleep is a Sleep that records the delays and returns at once.
type noSleep struct{ delays []time.Duration }

func (s *noSleep) Sleep(ctx context.Context, d time.Duration) error {
	s.delays = append(s.delays, d)
	return ctx.Err()
}

// shortSleep waits a little (real servers need a moment to notice a dead
// connection) but never the policy's full delay.
func shortSleep(ctx context.Context, d time.Duration) error {
	return sleepContext(ctx, min(d, 50*time.Millisecond))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// zeroSum is a well-formed SHA-256 for drops whose content does not matter.
var zeroSum = strings.Repeat("0", 64)

// offlineResolver fails every lookup without sending a packet: PAC tests
// must not query the machine's DNS server.
var offlineResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
	return nil, errors.New("no DNS in tests")
}}
