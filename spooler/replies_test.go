package spooler

import (
	"testing"
	"time"
)

// TestReplies: the drop's session key goes to the deliverer (for the reply
// verifier); once delivered and receipted the job is still followed, its
// ready replies are kept, and each new one is announced once.
func TestReplies(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	id := h.accept("martin", "rapport", doc(500, "r"))
	h.waitState(id, Uploaded)
	if string(h.relay.drop(id).sessionKey) != "session-key" {
		t.Fatalf("the deliverer got session key %q", h.relay.drop(id).sessionKey)
	}
	h.relay.mu.Lock()
	d := h.relay.drops[id]
	d.downloads, d.receipts = 1, []string{"good"}
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("a verified receipt", func() bool {
		j, _ := h.sp.Get(id)
		return j.State == Delivered && j.Receipts == 1
	})
	drain := func() {
		for {
			select {
			case <-h.events:
			default:
				return
			}
		}
	}
	drain()

	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	h.relay.mu.Lock()
	d.replies = []Reply{
		{ID: "reply-pending", State: "pending", CreatedAt: at, Size: 10, SHA256: "aa"},
		{ID: "reply-1", State: "ready", CreatedAt: at, ReadyAt: at, Size: 1234, SHA256: "bb"},
	}
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("the reply kept", func() bool {
		j, _ := h.sp.Get(id)
		return len(j.Replies) == 1
	})
	j, _ := h.sp.Get(id)
	if r := j.Replies[0]; r.ID != "reply-1" || r.Size != 1234 || r.SHA256 != "bb" || j.State != Delivered {
		t.Fatalf("job %s replies %+v", j.State, j.Replies)
	}
	waitReplies := func(want int) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev := <-h.events:
				if ev.NewReplies > 0 {
					if ev.NewReplies != want || ev.Job.ID != id {
						t.Fatalf("event: %d new replies for %s", ev.NewReplies, ev.Job.ID)
					}
					return
				}
			case <-deadline:
				t.Fatal("no event for the new reply")
			}
		}
	}
	waitReplies(1)
	// The same list again announces nothing; one more reply is announced.
	h.clock.Advance(2 * time.Minute)
	h.clock.Advance(2 * time.Minute)
	h.relay.mu.Lock()
	d.replies = append(d.replies, Reply{ID: "reply-2", State: "ready", CreatedAt: at.Add(time.Hour), Size: 99, SHA256: "cc"})
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	waitReplies(1)
	h.restart()
	if j, _ := h.sp.Get(id); len(j.Replies) != 2 {
		t.Fatalf("replies after a restart: %+v", j.Replies)
	}
}
