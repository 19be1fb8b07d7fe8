package spooler

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadSpoolKey(t *testing.T) {
	store := FileSecrets{Dir: filepath.Join(t.TempDir(), "secrets")}
	k1, err := LoadSpoolKey(store)
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	k2, err := LoadSpoolKey(store)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("key changed: %v", err)
	}
	st, _ := os.Stat(filepath.Join(store.Dir, SpoolKeyName))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if _, err := store.Get("../x"); err == nil {
		t.Fatal("path escape accepted")
	}
	if _, err := store.Get("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	store.Set(SpoolKeyName, []byte("garbage"))
	if _, err := LoadSpoolKey(store); err == nil {
		t.Fatal("malformed key accepted")
	}
}

func TestClipAndIDs(t *testing.T) {
	if got := Clip("a\x00b\nc\xff", 100); got != "a b c?" {
		t.Fatalf("%q", got)
	}
	if got := Clip("ééé", 5); got != "éé" {
		t.Fatalf("%q", got)
	}
	for _, bad := range []string{"", "job-", "job-../../etc", "job-AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if ValidID(bad) {
			t.Errorf("%q valid", bad)
		}
	}
	if _, err := normalizeRecipients([]string{"Name <a@b.example>"}); err == nil {
		t.Error("display name accepted")
	}
}

// Canceling a job while it uploads stops the upload and leaves nothing.
func TestCancelDuringUpload(t *testing.T) {
	h := newHarness(t, nil)
	h.relay.block = make(chan struct{})
	h.start()
	id := h.accept("martin", "r", doc(100, "a"))
	h.waitState(id, Sealed)
	if _, err := h.sp.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	// The step notices and stops; no failure is recorded after the cancel.
	h.stop()
	j, _ := h.sp.Get(id)
	if j.State != Canceled || j.Attempts != 0 {
		t.Fatalf("%+v", j)
	}
	if ents, _ := os.ReadDir(filepath.Join(h.dir, jobsDir, id)); len(ents) != 1 {
		t.Fatalf("files left: %v", ents)
	}
	if h.relay.creates != 0 {
		t.Fatal("a drop was created")
	}
}

// FuzzRecipients: whatever the page or API posts, release gets either an
// error or a list of plain, lower-case addresses.
func FuzzRecipients(f *testing.F) {
	f.Add("martin@police.example, A@B.example")
	f.Add("\"x\" <a@b.example>")
	f.Add("a@b@c")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := normalizeRecipients(strings.Split(s, ","))
		if err != nil {
			return
		}
		if len(out) == 0 || len(out) > maxRecipients {
			t.Fatalf("%d recipients", len(out))
		}
		for _, r := range out {
			if r != strings.ToLower(r) || strings.ContainsAny(r, "<>\" ,\n") || checkEmail(r) != nil {
				t.Fatalf("bad recipient %q", r)
			}
		}
	})
}

func TestTransitionTable(t *testing.T) {
	all := []State{Received, Rendered, Held, Sealed, Uploaded, Delivered, Failed, Canceled, Expired}
	for _, s := range all {
		if _, ok := transitions[s]; !ok {
			t.Errorf("state %s missing from the table", s)
		}
		if s.Final() && len(transitions[s]) != 0 {
			t.Errorf("final state %s has transitions", s)
		}
		if !s.Final() && !allowed(s, Canceled) {
			t.Errorf("%s cannot be canceled", s)
		}
	}
	now := time.Now()
	j := &Job{ID: "job-x"}
	j.moveTo(Received, now, "")
	for _, bad := range []State{Uploaded, Delivered, Held, Sealed} {
		n := j.clone()
		n.moveTo(bad, now, "")
		if checkTransitions(j, n) == nil {
			t.Errorf("received → %s accepted", bad)
		}
	}
	n := j.clone()
	n.moveTo(Rendered, now, "")
	n.moveTo(Held, now, "")
	if err := checkTransitions(j, n); err != nil {
		t.Error(err)
	}
	d := n.clone()
	d.State = Delivered
	if checkTransitions(n, d) == nil {
		t.Error("state changed without a transition")
	}
}

// Messages and notifications name the jobs page where the service really
// listens.
func TestPageURL(t *testing.T) {
	h := newHarness(t, nil)
	if h.sp.PageURL() != DefaultPageURL {
		t.Fatalf("default page %q", h.sp.PageURL())
	}
	const page = "http://127.0.0.1:9631/jobs"
	h.sp.SetPageURL(page)
	h.start()
	id := h.accept("sealed", "held report", doc(10, "a"))
	h.waitState(id, Held)
	for {
		e := <-h.events
		if e.Job.ID != id || e.Job.State != Held {
			continue
		}
		if e.Page != page || !strings.Contains(e.Message(), page) {
			t.Fatalf("event page %q, message %q", e.Page, e.Message())
		}
		break
	}
	j, _ := h.sp.Get(id)
	if m := j.StatusMessageAt(h.sp.PageURL()); !strings.Contains(m, page) {
		t.Fatalf("message at the service's page %q", m)
	}
	if m := j.StatusMessage(); !strings.Contains(m, DefaultPageURL) {
		t.Fatalf("default message %q", m)
	}
}
