package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// waitFor polls the spooler (in memory) until ok holds; the deadline only
// guards against a hung test.
func waitFor(t *testing.T, sp *spooler.Spooler, id string, ok func(*spooler.Job) bool) *spooler.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := sp.Get(id)
		if err == nil && ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: condition never held: %+v", id, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Each recipient's status follows the relay: uploaded → mailed → opened
// (verified receipt, with its time).
func TestRecipientStatus(t *testing.T) {
	h := newHarness(t, func(o *spooler.Options) { o.PollInterval = 20 * time.Millisecond })
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"a@b.example", "c@d.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	drop := "drop-" + id
	j, _ := h.sp.Get(id)
	if v := ViewIn(j, "", French); len(v.Deliveries) != 2 || v.Deliveries[0].State != DeliveryUploaded || v.Deliveries[0].UploadedAt.IsZero() {
		t.Fatalf("%+v", v.Deliveries)
	}
	mailed := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	statuses.Store(drop, spooler.DropStatus{State: "ready", NotifiedAt: mailed})
	j = waitFor(t, h.sp, id, func(j *spooler.Job) bool { return !j.MailedAt.IsZero() })
	if v := ViewIn(j, "", French); v.Deliveries[1].State != DeliveryMailed || !v.Deliveries[1].MailedAt.Equal(mailed) {
		t.Fatalf("%+v", v.Deliveries)
	}
	opened := mailed.Add(time.Hour)
	statuses.Store(drop, spooler.DropStatus{State: "ready", NotifiedAt: mailed, Downloads: 1,
		Receipts: []string{"proof"}, ReceiptTimes: []time.Time{opened}})
	j = waitFor(t, h.sp, id, func(j *spooler.Job) bool { return j.Receipts == 1 })
	v := ViewIn(j, "", French)
	if j.State != spooler.Delivered || v.Deliveries[0].State != DeliveryOpened || !v.Deliveries[0].OpenedAt.Equal(opened) {
		t.Fatalf("%s %+v", j.State, v.Deliveries)
	}
}

func TestRecipientStatusLockedEndsTheJob(t *testing.T) {
	h := newHarness(t, func(o *spooler.Options) { o.PollInterval = 20 * time.Millisecond })
	id := h.accept("r")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	h.waitState(id, spooler.Uploaded)
	statuses.Store("drop-"+id, spooler.DropStatus{State: "locked"})
	h.waitState(id, spooler.Expired)
	j, _ := h.sp.Get(id)
	v := ViewIn(j, "", French)
	if v.Deliveries[0].State != DeliveryLocked || !strings.Contains(French.T("delivery."+v.Deliveries[0].State), "verrouillé") {
		t.Fatalf("%+v", v.Deliveries)
	}
}
