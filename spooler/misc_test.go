package spooler

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
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

func TestNotification(t *testing.T) {
	j := &Job{Name: "report", Recipients: []string{"a@b.example"}}
	cases := []struct {
		state, from State
		perm        bool
		want        string
	}{
		{Held, Rendered, false, "Choose recipients"},
		{Failed, Sealed, false, ""},
		{Failed, Sealed, true, "Sealed print failed"},
		{Delivered, Uploaded, false, "Document opened"},
		{Expired, Uploaded, false, "Document expired unopened"},
		{Uploaded, Sealed, false, ""},
	}
	for _, c := range cases {
		j.State, j.Permanent = c.state, c.perm
		title, _, ok := Notification(Event{Job: j, From: c.from})
		if title != c.want || ok != (c.want != "") {
			t.Errorf("%s from %s: %q %v", c.state, c.from, title, ok)
		}
	}
}

func TestClipAndIDs(t *testing.T) {
	if got := clip("a\x00b\nc\xff", 100); got != "a b c?" {
		t.Fatalf("%q", got)
	}
	if got := clip("ééé", 5); got != "éé" {
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
