package jobs

import (
	"strings"
	"testing"

	"github.com/sealprint/sealprint/spooler"
)

func TestNotification(t *testing.T) {
	j := &spooler.Job{Name: "report", Recipients: []string{"a@b.example"}}
	cases := []struct {
		state, from spooler.State
		perm        bool
		fr, en      string
	}{
		{spooler.Held, spooler.Rendered, false, "Choisissez les destinataires", "Choose recipients"},
		{spooler.Failed, spooler.Sealed, false, "", ""},
		{spooler.Failed, spooler.Sealed, true, "Échec de l'impression scellée", "Sealed print failed"},
		{spooler.Delivered, spooler.Uploaded, false, "Document ouvert", "Document opened"},
		{spooler.Expired, spooler.Uploaded, false, "Document expiré sans être ouvert", "Document expired unopened"},
		{spooler.Uploaded, spooler.Sealed, false, "", ""},
	}
	for _, c := range cases {
		j.State, j.Permanent = c.state, c.perm
		title, _, ok := Notification(spooler.Event{Job: j, From: c.from})
		if title != c.fr || ok != (c.fr != "") {
			t.Errorf("%s from %s: %q %v", c.state, c.from, title, ok)
		}
		title, _, ok = NotificationIn(spooler.Event{Job: j, From: c.from}, English)
		if title != c.en || ok != (c.en != "") {
			t.Errorf("en: %s from %s: %q %v", c.state, c.from, title, ok)
		}
	}
}

// A held job's notification names the jobs page where the service really
// listens, not the default address.
func TestNotificationNamesThePage(t *testing.T) {
	h := newHarness(t)
	const page = "http://127.0.0.1:9631/jobs"
	h.sp.SetPageURL(page)
	id := h.accept("held report")
	ev := h.waitState(id, spooler.Held)
	_, body, ok := Notification(ev)
	if !ok || !strings.Contains(body, page) || strings.Contains(body, "8632") {
		t.Fatalf("notification %q", body)
	}
	j, _ := h.sp.Get(id)
	if v := ViewAt(j, h.sp.PageURL()); !strings.Contains(v.Message, page) {
		t.Fatalf("view message %q", v.Message)
	}
}

// A job held for the card's PIN says so, not "choose recipients".
func TestNotificationPIN(t *testing.T) {
	j := &spooler.Job{Name: "rapport", State: spooler.Held, Error: "seal: PDF signature: " + ErrPINRequired.Error()}
	title, body, ok := Notification(spooler.Event{Job: j, From: spooler.Rendered})
	if !ok || title != "PIN de la carte requis" || !strings.Contains(body, "« rapport » attend le code PIN") {
		t.Fatalf("%q %q %v", title, body, ok)
	}
	if title, _, _ := NotificationIn(spooler.Event{Job: j, From: spooler.Rendered}, English); title != "Card PIN required" {
		t.Fatalf("en: %q", title)
	}
	if v := ViewIn(j, "", French); !v.NeedsPIN || !strings.HasPrefix(v.Message, "PIN de la carte requis") {
		t.Fatalf("view %+v", v)
	}
}

// A new secure reply is announced even when the job's state stays the
// same, naming the job and the count only.
func TestNotificationOfReply(t *testing.T) {
	j := &spooler.Job{Name: "rapport", State: spooler.Delivered}
	title, body, ok := Notification(spooler.Event{Job: j, From: spooler.Delivered, NewReplies: 2})
	if !ok || title != "Réponse sécurisée reçue" || !strings.Contains(body, "2") || !strings.Contains(body, "rapport") {
		t.Fatalf("%q %q %v", title, body, ok)
	}
	if _, _, ok := Notification(spooler.Event{Job: j, From: spooler.Delivered}); ok {
		t.Fatal("notified without a change")
	}
}
