package keyserver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/filelock"
)

func TestFileStoreIndexes(t *testing.T) {
	s, err := OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testStoreIndexes(t, s)
}

// testStoreIndexes checks the indexes every Store keeps.
func testStoreIndexes(t *testing.T, s Store) {
	ctx := t.Context()
	fpr := "0123456789ABCDEF0123456789ABCDEF01234567"
	rec := &Record{Fingerprint: fpr, Key: []byte{1}, KeyIDs: []string{"89ABCDEF01234567", fpr}, Verified: []string{"a@x.example"}}
	if err := s.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []string, err error, want bool) {
		t.Helper()
		if err != nil || (len(got) == 1 && got[0] == fpr) != want {
			t.Fatalf("%s: %v %v, want found=%v", what, got, err, want)
		}
	}
	got, err := s.ByEmail(ctx, "a@x.example")
	check("by email", got, err, true)
	got, err = s.ByKeyID(ctx, "89abcdef01234567")
	check("by key id", got, err, true)
	got, err = s.ByWKD(ctx, "X.example", WKDHash("a"))
	check("by wkd", got, err, true)

	// Unpublishing removes the address and WKD entries, not the key IDs.
	rec.Verified = nil
	if err := s.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err = s.ByEmail(ctx, "a@x.example")
	check("by email after unpublish", got, err, false)
	got, err = s.ByWKD(ctx, "x.example", WKDHash("a"))
	check("by wkd after unpublish", got, err, false)
	got, err = s.ByKeyID(ctx, fpr)
	check("by fingerprint after unpublish", got, err, true)

	if err := s.Delete(ctx, fpr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, fpr); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	got, err = s.ByKeyID(ctx, fpr)
	check("by fingerprint after delete", got, err, false)
	// Path tricks are refused, not resolved.
	for _, bad := range []string{"../../etc/passwd", "", "abc"} {
		if _, err := s.Get(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q): %v", bad, err)
		}
	}
}

// TestFileStoreStaleIndex: an index entry whose record no longer lists it
// (a crash between the record write and the index cleanup) is ignored.
func TestFileStoreStaleIndex(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := OpenFileStore(dir)
	fpr := "0123456789ABCDEF0123456789ABCDEF01234567"
	s.Put(ctx, &Record{Fingerprint: fpr, Key: []byte{1}, KeyIDs: []string{fpr}})
	stale := filepath.Join(indexDir(dir, "email:a@x.example"), fpr)
	os.MkdirAll(filepath.Dir(stale), 0o700)
	os.WriteFile(stale, nil, 0o600)
	if got, _ := s.ByEmail(ctx, "a@x.example"); len(got) != 0 {
		t.Fatalf("stale index entry served: %v", got)
	}
}

func TestFileStoreTokens(t *testing.T) {
	ctx := t.Context()
	s, _ := OpenFileStore(t.TempDir())
	now, advance := fixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s.now = now
	_, hash, _ := newToken(zeroReader{})
	if err := s.PutToken(ctx, &Token{Hash: hash, Kind: tokenVerify, Expires: now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, hash); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Hour)
	if _, err := s.GetToken(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	s.sweepTokens()
	if _, err := s.readToken(hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("swept token still on disk: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A change to a key waits for store.lock, which `sealrelay keys …` and the
// running relay (two processes on one directory) both take: neither can
// interleave its index rewrite with the other's.
func TestFileStorePutWaitsForOtherProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := filelock.TryLock(filepath.Join(dir, "store.lock")) // what another process's Put holds
	if err != nil {
		t.Fatal(err)
	}
	fpr := "0123456789ABCDEF0123456789ABCDEF01234567"
	done := make(chan error, 1)
	go func() {
		done <- s.Put(t.Context(), &Record{Fingerprint: fpr, Key: []byte{1}, KeyIDs: []string{fpr}})
	}()
	select {
	case err := <-done:
		t.Fatalf("Put ran while another process held the store lock: %v", err)
	case <-time.After(200 * time.Millisecond): // a bounded look for a wrong early return
	}
	other.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), fpr); err != nil {
		t.Fatal(err)
	}
}
