package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSentLogBounded: the sent list keeps the newest maxSentEntries,
// forgets drops long expired, replaces an entry sent again, and a damaged
// file is replaced rather than blocking a send.
func TestSentLogBounded(t *testing.T) {
	home := t.TempDir()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	id := func(i int) string { return fmt.Sprintf("AAAAAAAAAAAAAAAA%05dA", i) }
	old := sentDrop{ID: id(99999), File: "vieux.pdf", ExpiresAt: now.Add(-sentKeep - time.Hour)}
	if err := recordSent(home, old, now.Add(-sentKeep-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxSentEntries+5; i++ {
		if err := recordSent(home, sentDrop{ID: id(i), File: "f.pdf", ExpiresAt: now.Add(7 * 24 * time.Hour)}, now); err != nil {
			t.Fatal(err)
		}
	}
	list, err := readSent(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != maxSentEntries || list[0].ID != id(5) || list[len(list)-1].ID != id(maxSentEntries+4) {
		t.Fatalf("%d entries, first %s, last %s", len(list), list[0].ID, list[len(list)-1].ID)
	}
	for _, d := range list {
		if d.ID == old.ID {
			t.Fatal("a drop expired long ago is still listed")
		}
	}
	// Sent again: one entry, moved last.
	if err := recordSent(home, sentDrop{ID: id(10), File: "again.pdf"}, now); err != nil {
		t.Fatal(err)
	}
	list, _ = readSent(home)
	n := 0
	for _, d := range list {
		if d.ID == id(10) {
			n++
		}
	}
	if n != 1 || list[len(list)-1].File != "again.pdf" {
		t.Fatalf("re-sent drop listed %d times, last %+v", n, list[len(list)-1])
	}
	if st, err := os.Stat(filepath.Join(home, sentFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("sent.json mode: %v %v", st, err)
	}
	os.WriteFile(filepath.Join(home, sentFile), []byte("{not json"), 0o600)
	if _, err := readSent(home); err == nil {
		t.Error("a damaged sent.json reads without error")
	}
	if err := recordSent(home, sentDrop{ID: id(1)}, now); err != nil {
		t.Fatal(err)
	}
	if list, err := readSent(home); err != nil || len(list) != 1 {
		t.Fatalf("after a damaged file: %v, %v", list, err)
	}
}

// FuzzReadSent: any sent.json content reads without panicking, and only
// valid drop ids come out.
func FuzzReadSent(f *testing.F) {
	f.Add([]byte(`[{"id":"AAAAAAAAAAAAAAAAAAAAAA","file":"a.pdf"}]`))
	f.Add([]byte(`[{"id":"../../etc"}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		home := t.TempDir()
		os.WriteFile(filepath.Join(home, sentFile), b, 0o600)
		list, err := readSent(home)
		if err != nil {
			return
		}
		for _, d := range list {
			if len(d.ID) != 22 {
				t.Fatalf("invalid id %q read", d.ID)
			}
		}
	})
}
