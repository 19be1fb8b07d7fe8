package spooler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func doc(n int, tag string) []byte {
	b := bytes.Repeat([]byte("%PDF-1.7 "+tag+" "), n/10+1)
	return b[:n]
}

func TestPipelineFixedQueue(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	var ids []string
	var docs [][]byte
	for i, n := range []int{0, 1, 1000, chunkSize, 3*chunkSize + 17} {
		d := doc(n, fmt.Sprint(i))
		docs = append(docs, d)
		ids = append(ids, h.accept("martin", fmt.Sprintf("report %d", i), d))
	}
	for i, id := range ids {
		j := h.waitState(id, Uploaded)
		if j.Link == "" || j.DropID == "" || len(j.Recipients) != 1 || j.Recipients[0] != "martin@police.example" {
			t.Fatalf("job %d: %+v", i, j)
		}
		if got := unseal(h.relay.drop(id).body); !bytes.Equal(got, docs[i]) {
			t.Fatalf("job %d: delivered %d bytes, want %d", i, len(got), len(docs[i]))
		}
		// Only the record remains: no plaintext-equivalent or sealed copy.
		ents, _ := os.ReadDir(filepath.Join(h.dir, jobsDir, id))
		if len(ents) != 1 || ents[0].Name() != recordFile {
			t.Fatalf("job %d: files left %v", i, ents)
		}
	}
	// The recipient opens one.
	h.relay.mu.Lock()
	h.relay.drops[ids[2]].downloads = 1
	h.relay.drops[ids[2]].checkpoint = []byte(`{"seq":9,"head":"ab","sig":"x"}`)
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	j := h.waitState(ids[2], Delivered)
	if j.Downloads != 1 || j.StatusMessage() != "opened by the recipient" {
		t.Fatalf("delivered job: %+v", j)
	}
	// The job keeps the relay's signed checkpoint as a witness.
	if len(j.Checkpoints) != 1 || string(j.Checkpoints[0]) != `{"seq":9,"head":"ab","sig":"x"}` {
		t.Fatalf("witnessed checkpoints %q", j.Checkpoints)
	}
	if h.relay.creates != len(ids) {
		t.Fatalf("relay has %d drops, want %d", h.relay.creates, len(ids))
	}
	// Receipts are checked against the session key kept at sealing time.
	h.relay.mu.Lock()
	h.relay.drops[ids[2]].receipts = []string{"forged"}
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.clock.Advance(2 * time.Minute)
	h.relay.mu.Lock()
	h.relay.drops[ids[2]].receipts = []string{"forged", "good"}
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("one verified receipt", func() bool {
		j, _ = h.sp.Get(ids[2])
		return j.Receipts == 1
	})
	if j.State != Delivered || !strings.Contains(j.StatusMessage(), "confirmed") {
		t.Fatalf("%s %q", j.State, j.StatusMessage())
	}
	// The session key survives a restart (in the encrypted record) and is
	// never shown.
	h.restart()
	j, _ = h.sp.Get(ids[2])
	if string(j.SessionKey) != "session-key" {
		t.Fatal("session key not kept")
	}
	if b, _ := json.Marshal(j); bytes.Contains(b, []byte("session")) {
		t.Fatalf("session key shown: %s", b)
	}
}

func TestHeldReleaseCancel(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	a := h.accept("sealed", "to choose", doc(500, "a"))
	b := h.accept("sealed", "to cancel", doc(500, "b"))
	ja := h.waitState(a, Held)
	h.waitState(b, Held)
	if ja.Pages != 6 {
		t.Fatalf("pages %d", ja.Pages)
	}
	if _, err := h.sp.Release(context.Background(), a, []string{"not an address"}); err == nil {
		t.Fatal("bad address accepted")
	}
	if _, err := h.sp.Retry(context.Background(), a); err == nil {
		t.Fatal("retry of a held job accepted")
	}
	if _, err := h.sp.Release(context.Background(), a, []string{" Martin@Police.example ", "martin@police.example"}); err != nil {
		t.Fatal(err)
	}
	j := h.waitState(a, Uploaded)
	if len(j.Recipients) != 1 || j.Recipients[0] != "martin@police.example" {
		t.Fatalf("recipients %v", j.Recipients)
	}
	if _, err := h.sp.Release(context.Background(), a, []string{"x@y.example"}); err == nil {
		t.Fatal("released an uploaded job")
	}
	if _, err := h.sp.Cancel(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if j, _ := h.sp.Get(b); j.State != Canceled {
		t.Fatalf("state %s", j.State)
	}
	if ents, _ := os.ReadDir(filepath.Join(h.dir, jobsDir, b)); len(ents) != 1 {
		t.Fatalf("canceled job keeps files: %v", ents)
	}
	if _, err := h.sp.Cancel(context.Background(), b); err == nil {
		t.Fatal("canceled twice")
	}
	// Canceling an uploaded job revokes its drop.
	if _, err := h.sp.Cancel(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(h.relay.revoked) != 1 {
		t.Fatalf("revoked %v", h.relay.revoked)
	}
	var se *StateError
	if _, err := h.sp.Release(context.Background(), "job-aaaaaaaaaaaaaaaaaaaaaaaaaa", []string{"a@b.example"}); !errors.Is(err, ErrNotFound) || errors.As(err, &se) {
		t.Fatalf("unknown job: %v", err)
	}
}

type tempErr struct{}

func (tempErr) Error() string { return "relay unreachable" }

func TestRetryBackoffAndPermanent(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.RetryMin, o.RetryMax = 10*time.Second, 40*time.Second })
	h.relay.failNext = []error{tempErr{}, tempErr{}, tempErr{}, tempErr{}}
	h.start()
	id := h.accept("martin", "r", doc(100, "x"))
	var last time.Duration
	for attempt := 1; attempt <= 4; attempt++ {
		var j *Job
		h.waitFor(fmt.Sprintf("attempt %d to fail", attempt), func() bool {
			j, _ = h.sp.Get(id)
			return j.State == Failed && j.Attempts == attempt
		})
		if j.Permanent || j.Error == "" {
			t.Fatalf("attempt %d: %+v", attempt, j)
		}
		wait := j.NextRetry.Sub(h.clock.Now())
		base := min(10*time.Second<<(attempt-1), 40*time.Second)
		if wait < base/2 || wait > base {
			t.Fatalf("attempt %d: retry in %s, want within [%s, %s]", attempt, wait, base/2, base)
		}
		last = wait
		h.clock.Advance(wait)
	}
	_ = last
	h.waitState(id, Uploaded)

	// A permanent error stops retrying until the user asks.
	h.relay.mu.Lock()
	h.relay.failNext = []error{Permanent(errors.New("token refused"))}
	h.relay.mu.Unlock()
	id2 := h.accept("martin", "r2", doc(100, "y"))
	j := h.waitState(id2, Failed)
	if !j.Permanent || !j.NextRetry.IsZero() || j.StatusMessage() != "failed: upload: token refused" {
		t.Fatalf("%+v %q", j, j.StatusMessage())
	}
	h.advanceIdle(24 * time.Hour)
	if j, _ := h.sp.Get(id2); j.State != Failed || j.Attempts != 1 {
		t.Fatalf("permanent failure retried: %s", j.State)
	}
	if _, err := h.sp.Retry(context.Background(), id2); err != nil {
		t.Fatal(err)
	}
	h.waitState(id2, Uploaded)
}

func TestMaxAttemptsAndRenderFailure(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxAttempts = 2 })
	h.render.failures, h.render.err = 5, errors.New("renderer crashed")
	h.start()
	id := h.accept("martin", "r", doc(10, "x"))
	j := h.waitState(id, Failed)
	if j.Stage != Received || j.Permanent {
		t.Fatalf("%+v", j)
	}
	h.clock.Advance(time.Hour)
	h.waitFor("the second attempt", func() bool {
		j, _ = h.sp.Get(id)
		return j.Attempts >= 2
	})
	if !j.Permanent {
		t.Fatalf("not permanent after MaxAttempts: %+v", j)
	}
	h.render.mu.Lock()
	h.render.failures = 0
	h.render.mu.Unlock()
	h.sp.Retry(context.Background(), id)
	h.waitState(id, Uploaded)
}

func TestBusy(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxJobs = 2 })
	h.accept("sealed", "a", doc(10, "a"))
	h.accept("sealed", "b", doc(10, "b"))
	_, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed"}, bytes.NewReader(doc(10, "c")))
	var busy interface{ Busy() bool }
	if !errors.As(err, &busy) || !busy.Busy() {
		t.Fatalf("third job: %v", err)
	}
	// Nothing of the refused job is left.
	if ents, _ := os.ReadDir(filepath.Join(h.dir, incomingDir)); len(ents) != 0 {
		t.Fatalf("incoming: %v", ents)
	}
	if n := len(h.sp.List()); n != 2 {
		t.Fatalf("%d jobs", n)
	}

	h2 := newHarness(t, func(o *Options) { o.MaxBytes = 1000 })
	h2.accept("sealed", "a", doc(600, "a"))
	_, err = h2.sp.Accept(context.Background(), Incoming{Queue: "sealed"}, bytes.NewReader(doc(600, "b")))
	if !errors.As(err, &busy) {
		t.Fatalf("over MaxBytes: %v", err)
	}
}

func TestHoldExpiryAndRetention(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.HoldTimeout, o.Retention = time.Hour, 24*time.Hour })
	h.start()
	id := h.accept("sealed", "forgotten", doc(10, "a"))
	h.waitState(id, Held)
	h.clock.Advance(61 * time.Minute)
	h.waitState(id, Expired)
	if ents, _ := os.ReadDir(filepath.Join(h.dir, jobsDir, id)); len(ents) != 1 {
		t.Fatalf("expired job keeps files: %v", ents)
	}
	h.clock.Advance(25 * time.Hour)
	h.waitFor("the job to be removed after retention", func() bool {
		_, err := h.sp.Get(id)
		return errors.Is(err, ErrNotFound)
	})
	if _, err := os.Stat(filepath.Join(h.dir, jobsDir, id)); !os.IsNotExist(err) {
		t.Fatalf("job dir still there: %v", err)
	}
}

func TestEventsAndStatusMessage(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	id := h.accept("martin", "r", doc(10, "a"))
	h.waitState(id, Uploaded)
	var seen []State
	for len(seen) < 4 {
		e := <-h.events
		if e.Job.ID == id {
			seen = append(seen, e.Job.State)
		}
	}
	want := []State{Received, Rendered, Sealed, Uploaded}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("events %v, want %v", seen, want)
		}
	}
}
