package spooler

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A restart resumes jobs from every state; a lost answer after the relay
// saved the drop does not create a second drop.
func TestRecoveryResumesEveryJob(t *testing.T) {
	h := newHarness(t, nil)
	h.relay.block = make(chan struct{})
	h.start()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, h.accept("martin", "r", doc(200+i, "r")))
	}
	held := h.accept("sealed", "h", doc(300, "h"))
	h.waitState(held, Held)
	// Workers are stuck uploading: jobs are sealed or still received/rendered.
	h.waitState(ids[0], Sealed)
	h.stop()

	// A job that was being received when the process died is forgotten.
	if err := os.MkdirAll(filepath.Join(h.dir, incomingDir, "job-halfwritten"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A temp file of an interrupted step is removed.
	os.WriteFile(filepath.Join(h.dir, jobsDir, ids[1], ".pdf.enc.tmp123"), []byte("x"), 0o600)

	h.relay.block = nil
	h.relay.afterSave = []error{errors.New("connection reset after the drop was saved")}
	h.restart()
	for _, id := range ids {
		// The job whose answer was lost fails once and is retried.
		if h.waitAny(id, Uploaded, Failed).State == Failed {
			h.clock.Advance(time.Hour)
			h.waitState(id, Uploaded)
		}
	}
	if j, _ := h.sp.Get(held); j.State != Held {
		t.Fatalf("held job is %s", j.State)
	}
	if h.relay.creates != len(ids) {
		t.Fatalf("%d drops for %d jobs", h.relay.creates, len(ids))
	}
	if ents, _ := os.ReadDir(filepath.Join(h.dir, incomingDir)); len(ents) != 0 {
		t.Fatalf("incoming not cleaned: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(h.dir, jobsDir, ids[1], ".pdf.enc.tmp123")); !os.IsNotExist(err) {
		t.Fatal("temp file kept")
	}
	// Release after a restart works too.
	if _, err := h.sp.Release(context.Background(), held, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(held, Uploaded)
}

func TestRecoveryWrongKeyAndTamper(t *testing.T) {
	h := newHarness(t, nil)
	id := h.accept("sealed", "r", doc(100, "a"))
	// Another spool key cannot read the job, and does not delete it.
	h.key = bytes.Repeat([]byte{8}, 32)
	h.open()
	if len(h.sp.List()) != 0 {
		t.Fatal("record read with the wrong key")
	}
	if _, err := os.Stat(filepath.Join(h.dir, jobsDir, id, docFile)); err != nil {
		t.Fatal("unreadable job deleted")
	}
	h.key = bytes.Repeat([]byte{7}, 32)
	// A tampered document fails the job for good, without plaintext.
	p := filepath.Join(h.dir, jobsDir, id, docFile)
	b, _ := os.ReadFile(p)
	b[len(b)-5] ^= 1
	os.WriteFile(p, b, 0o600)
	h.open()
	h.start()
	j := h.waitState(id, Failed)
	if !j.Permanent || h.render.calls != 1 {
		t.Fatalf("%+v calls %d", j, h.render.calls)
	}
}

// Stopping in the middle of a step (context canceled) records nothing and
// the step is redone.
func TestShutdownDuringStep(t *testing.T) {
	h := newHarness(t, nil)
	h.relay.block = make(chan struct{})
	h.start()
	id := h.accept("martin", "r", doc(100, "a"))
	h.waitState(id, Sealed)
	h.stop()
	if j, _ := h.sp.Get(id); j.State != Sealed || j.Attempts != 0 {
		t.Fatalf("%+v", j)
	}
	h.relay.block = nil
	h.restart()
	h.waitState(id, Uploaded)
}
