package jobs

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// TestPageListsReplies: a reply the relay reports under a job's drop is
// announced by an event the notifier turns into a notification, and the
// jobs page lists it under the job with the command that opens it.
func TestPageListsReplies(t *testing.T) {
	h := newHarness(t, func(o *spooler.Options) { o.PollInterval = 20 * time.Millisecond })
	id := h.accept("constat")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	statuses.Store("drop-"+id, spooler.DropStatus{State: "ready", Downloads: 1, Receipts: []string{"proof"}, ReceiptTimes: []time.Time{at},
		Replies: []spooler.Reply{{ID: "Rr0ZK6xWq3HnYtTTMhQ2Bg", State: "ready", CreatedAt: at, ReadyAt: at, Size: 4321, SHA256: "ab"}}})
	ev := h.waitEvent("a reply", func(e spooler.Event) bool { return e.NewReplies > 0 })
	if title, _, ok := Notification(ev); !ok || title != "Réponse sécurisée reçue" {
		t.Fatalf("notification %q %v", title, ok)
	}
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv.Close()
	resp, err := signedIn.Get(srv.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if !strings.Contains(page, "Réponses sécurisées") || !strings.Contains(page, "4321 octets chiffrés") ||
		!strings.Contains(page, "sealprint open --reply Rr0ZK6xWq3HnYtTTMhQ2Bg") {
		t.Fatalf("the page does not list the reply:\n%s", page)
	}
}
