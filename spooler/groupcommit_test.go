package spooler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Concurrent Accepts are committed (in shared batches) and each one's job
// is complete in jobs/ once Accept returns; nothing is left in incoming/.
func TestGroupCommitConcurrentAccepts(t *testing.T) {
	h := newHarness(t, nil)
	h.sp.inline = 0 // every document in its own file
	const n = 24
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: "r"},
				bytes.NewReader(doc(70_000+i, "group")))
			if err != nil {
				t.Error(err)
				return
			}
			// Acknowledged: the record and the document are in jobs/.
			if _, err := h.sp.st.readRecord(id); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(h.sp.st.path(id, docFile)); err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	if len(ids) != n || len(h.sp.List()) != n {
		t.Fatalf("%d ids, %d jobs", len(ids), len(h.sp.List()))
	}
	// The counts of unfinished jobs that admission uses agree with the jobs.
	var size int64
	for _, j := range h.sp.List() {
		size += j.Size
	}
	h.sp.mu.Lock()
	unfinished, nbytes, accepts := h.sp.unfinished, h.sp.unfinishedBytes, h.sp.accepts
	h.sp.mu.Unlock()
	if unfinished != n || nbytes != size || accepts != 0 {
		t.Fatalf("counted %d jobs, %d bytes, %d accepts; want %d, %d, 0", unfinished, nbytes, accepts, n, size)
	}
	if ents, _ := os.ReadDir(filepath.Join(h.dir, incomingDir)); len(ents) != 0 {
		t.Fatalf("left in incoming: %v", ents)
	}
	// The jobs survive a restart.
	h.open()
	if len(h.sp.List()) != n {
		t.Fatalf("%d jobs after restart", len(h.sp.List()))
	}
}

// A job whose files cannot be synced is not committed, and does not stop
// the others of its batch.
func TestGroupCommitFailedSync(t *testing.T) {
	root := t.TempDir()
	jobs := filepath.Join(root, jobsDir)
	in := filepath.Join(root, incomingDir)
	for _, d := range []string{jobs, in} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name string, closed bool) *pendingJob {
		dir := filepath.Join(in, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, recordFile))
		if err != nil {
			t.Fatal(err)
		}
		if closed {
			f.Close() // Sync fails
		} else {
			t.Cleanup(func() { f.Close() })
		}
		return &pendingJob{id: name, dir: dir, final: filepath.Join(jobs, name), files: []*os.File{f}, done: make(chan error, 1)}
	}
	good, bad := mk("good", false), mk("bad", true)
	g := newGroupCommitter(jobs)
	g.commitBatch([]*pendingJob{good, bad})
	if err := <-good.done; err != nil {
		t.Fatal(err)
	}
	if err := <-bad.done; err == nil {
		t.Fatal("a job that could not be synced was committed")
	}
	if _, err := os.Stat(good.final); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bad.final); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unsynced job moved to jobs/: %v", err)
	}
}

// After Close, Accept fails and keeps nothing.
func TestGroupCommitClosed(t *testing.T) {
	g := newGroupCommitter(t.TempDir())
	go g.run()
	g.close()
	g.close() // idempotent
	if err := g.submit(&pendingJob{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

// blockingReader returns its data only after release is closed.
type blockingReader struct {
	started chan struct{}
	release chan struct{}
	data    io.Reader
}

func (b *blockingReader) Read(p []byte) (int, error) {
	select {
	case <-b.started:
	default:
		close(b.started)
	}
	<-b.release
	return b.data.Read(p)
}

// Rendering waits while a document is being received, but no longer than
// maxYield.
func TestRenderYieldsToAccept(t *testing.T) {
	h := newHarness(t, nil)
	first := h.accept("sealed", "first", doc(100, "a"))
	if err := h.sp.settleIntake(); err != nil {
		t.Fatal(err)
	}
	br := &blockingReader{started: make(chan struct{}), release: make(chan struct{}), data: bytes.NewReader(doc(100, "b"))}
	accepted := make(chan error, 1)
	go func() {
		_, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: "second"}, br)
		accepted <- err
	}()
	<-br.started
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := func() bool {
		h.sp.mu.Lock()
		defer h.sp.mu.Unlock()
		return h.sp.jobs[first].running
	}
	next := h.sp.dispatch(ctx)
	if running() {
		t.Fatal("rendering started while a document was being received")
	}
	if want := h.clock.Now().Add(maxYield); !next.Equal(want) {
		t.Fatalf("next dispatch %v, want %v", next, want)
	}
	h.clock.Advance(maxYield)
	h.sp.dispatch(ctx)
	if !running() {
		t.Fatal("rendering still waits after maxYield")
	}
	close(br.release)
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	h.sp.wg.Wait()
}
