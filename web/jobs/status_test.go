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

// Signed receipts say which recipient opened: only that one shows
// "opened" (by "recipient"); an unsigned receipt shows the others opened
// "by someone"; a job from before signed receipts shows everyone opened by
// someone, as it always did.
func TestRecipientStatusPerSignedReceipt(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := spooler.Job{DropID: "d", Recipients: []string{"martin@police.example", "blanc@police.example"},
		OpenedAt: at, MailedAt: at.Add(-time.Hour), Receipts: 1}
	state := func(j spooler.Job) map[string]RecipientStatus {
		out := map[string]RecipientStatus{}
		for _, s := range recipientStatuses(&j) {
			out[s.Recipient] = s
		}
		return out
	}
	signed := base
	signed.OpenedBy = map[string]time.Time{"martin@police.example": at}
	got := state(signed)
	if m := got["martin@police.example"]; m.State != DeliveryOpened || m.OpenedBy != "recipient" || !m.OpenedAt.Equal(at) {
		t.Fatalf("Martin %+v", m)
	}
	if b := got["blanc@police.example"]; b.State != DeliveryMailed || b.OpenedBy != "" || !b.OpenedAt.IsZero() {
		t.Fatalf("Blanc, who signed no receipt: %+v", b)
	}
	// One more receipt, unsigned: Blanc may have opened it.
	signed.UnsignedReceipts, signed.Receipts = 1, 2
	if b := state(signed)["blanc@police.example"]; b.State != DeliveryOpened || b.OpenedBy != "someone" {
		t.Fatalf("Blanc with an unsigned receipt: %+v", b)
	}
	// Before signed receipts: opened, by someone, for each.
	for r, s := range state(base) {
		if s.State != DeliveryOpened || s.OpenedBy != "someone" {
			t.Fatalf("%s %+v", r, s)
		}
	}
	// The page says it in words, in French first.
	if v := French.T("delivery.opened.by.someone"); !strings.Contains(v, "sans savoir") {
		t.Fatalf("French wording %q", v)
	}
}

// Link mode with a secret per recipient: the receipt keyed from Martin's
// secret makes only Martin's line "opened by the recipient, with their own
// link"; Blanc's stays mailed. A job whose recipients share one secret
// (released before they each had their own) says "someone" for both.
func TestRecipientStatusPerLinkSecret(t *testing.T) {
	mailed := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	opened := mailed.Add(time.Hour)
	j := &spooler.Job{DropID: "D", Link: "https://relay.example/d/D", State: spooler.Delivered,
		Recipients:  []string{"martin@police.example", "blanc@police.example"},
		Send:        &spooler.SendOptions{Mode: spooler.ModeLink},
		LinkSecrets: map[string]string{"martin@police.example": "SA", "blanc@police.example": "SB"},
		History:     []spooler.Transition{{State: spooler.Uploaded, At: mailed}},
		MailedAt:    mailed, OpenedAt: opened, Receipts: 1,
		OpenedBy: map[string]time.Time{"martin@police.example": opened}}
	v := ViewIn(j, "", French)
	m, b := v.Deliveries[0], v.Deliveries[1]
	if m.State != DeliveryOpened || m.OpenedBy != "recipient" || m.OpenedWith != "link" || !m.OpenedAt.Equal(opened) || m.SecretLink != j.Link+"#SA" {
		t.Fatalf("Martin: %+v", m)
	}
	if b.State != DeliveryMailed || b.OpenedBy != "" || !b.OpenedAt.IsZero() || b.SecretLink != j.Link+"#SB" {
		t.Fatalf("Blanc: %+v", b)
	}
	if v.SecretLink != "" {
		t.Fatalf("one link for the job as a whole: %s", v.SecretLink)
	}
	if got := French.T("delivery.opened.by." + m.OpenedBy + m.OpenedWith); got != "ouvert avec son propre lien" {
		t.Fatalf("French label %q", got)
	}

	old := *j
	old.LinkSecrets, old.LinkSecret, old.OpenedBy, old.UnsignedReceipts = nil, "S", nil, 1
	v = ViewIn(&old, "", French)
	for _, d := range v.Deliveries {
		if d.State != DeliveryOpened || d.OpenedBy != "someone" || d.SecretLink != "" {
			t.Fatalf("shared secret: %+v", d)
		}
	}
	if v.SecretLink != j.Link+"#S" {
		t.Fatalf("shared link %q", v.SecretLink)
	}
}
