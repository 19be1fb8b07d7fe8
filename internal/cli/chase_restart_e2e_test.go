package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

// setChase writes the "chase" settings into p's config file.
func setChase(t *testing.T, p *person, chase map[string]string) {
	t.Helper()
	setConfig(t, p, "chase", chase)
}

// setConfig sets one top-level setting of p's config file.
func setConfig(t *testing.T, p *person, key string, value any) {
	t.Helper()
	path := filepath.Join(p.home, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg[key] = value
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// chaseLevelsGiven reads the levels recorded in the spool's chase file.
func chaseLevelsGiven(t *testing.T, p *person, id string) []string {
	b, err := os.ReadFile(filepath.Join(p.home, "spool", jobs.ChaseStateFile))
	if err != nil {
		return nil
	}
	var st struct {
		Marks map[string][]jobs.ChaseMark `json:"marks"`
	}
	json.Unmarshal(b, &st)
	var out []string
	for _, m := range st.Marks[id] {
		out = append(out, m.Level)
	}
	return out
}

// TestChaseSurvivesServeRestart: a real 'sealprint serve' chases an
// unopened link-mode drop on a real relay with SMTP (desktop notification
// through notify-send, mail to the sender); stopped and started again,
// it does not give that reminder again, and gives the next one.
func TestChaseSurvivesServeRestart(t *testing.T) {
	testutil.NeedIntegration(t)
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	relay := startRelayProc(t, "--smtp", smtp.URL, "--mail-from", "relay@relay.example")
	out, err := exec.Command(testutil.Binary(t, "sealrelay"), "token", "create", "--data", relay.data,
		"--name", "Dr Durand", "--email", "durand@chu.example", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var tok struct{ Token string }
	json.Unmarshal(out, &tok)
	doctor := newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", tok.Token)
	// The second delay is out of reach in the first run.
	setChase(t, doctor, map[string]string{"after": "2s", "again": "1000h"})

	// notify-send stand-in: records each notification.
	bin, notes := t.TempDir(), filepath.Join(t.TempDir(), "notifications")
	os.WriteFile(filepath.Join(bin, "notify-send"), []byte("#!/bin/sh\nprintf '%s|%s\\n' \"$3\" \"$4\" >> '"+notes+"'\n"), 0o755)
	notifications := func() []string {
		b, _ := os.ReadFile(notes)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.HasPrefix(l, "Rapport pas encore ouvert|") {
				out = append(out, l)
			}
		}
		return out
	}
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "LANG=fr_FR.UTF-8", "LC_ALL=", "LC_MESSAGES="}
	addr := testutil.FreeAddr(t)
	srv := startServe(t, doctor, addr, env...)
	me, _ := user.Current()
	ippPrint(t, addr, "sealed", me.Username, "rapport-relance", "Rapport médico-légal\n")
	var id string
	waitFor(t, "the job held", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-relance")
		if j != nil && j.State == spooler.Held {
			id = j.ID
			return true
		}
		return false
	})
	doctor.must("jobs", "release", id, "--to", "opj@police.example", "--link")
	waitFor(t, "the first reminder", func() bool { return len(notifications()) == 1 })
	waitFor(t, "the first reminder's mail", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-relance")
		return len(j.Chased) == 1 && j.Chased[0].Mailed
	})
	if got := chaseLevelsGiven(t, doctor, id); strings.Join(got, ",") != jobs.ChaseFirst {
		t.Fatalf("chase file: %v", got)
	}
	toSender := func() int {
		n := 0
		for _, m := range smtp.Messages(t) {
			if len(m.To) == 1 && m.To[0] == "durand@chu.example" {
				n++
			}
		}
		return n
	}
	waitFor(t, "the first chase mail", func() bool { return toSender() >= 1 })
	if n := toSender(); n != 1 {
		t.Fatalf("%d mails to the sender after the first reminder", n)
	}
	srv.stop()

	// Started again, with a second delay now passed: the first reminder
	// is not repeated, the second is given.
	setChase(t, doctor, map[string]string{"after": "2s", "again": "3s"})
	srv.start()
	waitFor(t, "the second reminder recorded", func() bool {
		return strings.Join(chaseLevelsGiven(t, doctor, id), ",") == jobs.ChaseFirst+","+jobs.ChaseSecond
	})
	waitFor(t, "the second reminder's mail", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-relance")
		return len(j.Chased) == 2 && j.Chased[1].Mailed
	})
	// One more check cycle cannot add anything: every level is given.
	if got := notifications(); len(got) != 2 {
		t.Fatalf("notifications across the restart: %q", got)
	}
	waitFor(t, "the second chase mail", func() bool { return toSender() >= 2 })
	if n := toSender(); n != 2 {
		t.Fatalf("%d chase mails to the sender across the restart, want 2", n)
	}
	if strings.Count(srv.logs.String(), "level=first") != 1 {
		t.Fatalf("the first reminder was given again:\n%s", srv.logs.String())
	}
}
