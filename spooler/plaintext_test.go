package spooler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestNoPlaintextOnDisk runs jobs through every stage while a scanner
// reads every file under the spool and the temp dir, looking for the
// documents' marker. (The integration tests do the same with the real
// render, envelope and relay.)
func TestNoPlaintextOnDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h := newHarness(t, nil)
	marker := []byte("PLAINTEXT-MARKER-7f3a")
	stop := make(chan struct{})
	var hits []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			for _, d := range []string{h.dir, tmp} {
				filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
					if err == nil && !e.IsDir() {
						if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, marker) {
							hits = append(hits, p)
						}
					}
					return nil
				})
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	h.start()
	var ids []string
	for i := range 30 {
		body := bytes.Repeat(append(marker, fmt.Sprintf(" page %d ", i)...), 1+i*500)
		queue := "martin"
		if i%3 == 0 {
			queue = "sealed"
		}
		ids = append(ids, h.accept(queue, "r", body))
	}
	for i, id := range ids {
		if i%3 == 0 {
			h.waitState(id, Held)
			h.sp.Release(t.Context(), id, []string{"a@b.example"})
		}
		h.waitState(id, Uploaded)
	}
	close(stop)
	wg.Wait()
	if len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
	// The fake relay got the documents (the marker is only hidden on disk).
	if !bytes.Contains(unseal(h.relay.drop(ids[1]).body), marker) {
		t.Fatal("test is blind: marker not in the delivered document")
	}
}
