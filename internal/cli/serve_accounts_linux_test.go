package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/testutil"
)

// TestServeLocalAccounts: a real second local account (made for the test)
// prints with ipptool to the doctor's running 'sealprint serve', claiming
// the doctor's name. A per-user serve refuses it
// (client-error-not-authorized); with printer.own_account_only false the
// job is recorded under the account's own name, and 'sealprint jobs' (the
// jobs API) lists only the doctor's own job.
func TestServeLocalAccounts(t *testing.T) {
	testutil.NeedIntegration(t)
	if os.Geteuid() != 0 {
		t.Fatal("needs root (./scripts/test runs as root): creates a local account")
	}
	ipptool := testutil.NeedTool(t, "ipptool")
	runuser := testutil.NeedTool(t, "runuser")
	other := testutil.NewLocalAccount(t)
	doctorName := currentAccountName()

	dir, err := os.MkdirTemp("", "sealprint-accounts-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "doc.pdf"), []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o644)
	for _, st := range []string{"successful-ok", "client-error-not-authorized"} {
		test := fmt.Sprintf(`{
	NAME "Print-Job as %[1]s"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name "%[1]s"
	ATTR name job-name "$ENV[JOBNAME]"
	ATTR mimeMediaType document-format application/pdf
	FILE doc.pdf
	STATUS %[2]s
}
`, doctorName, st)
		os.WriteFile(filepath.Join(dir, st+".test"), []byte(test), 0o644)
	}
	ipp := func(as, uri, status, jobName string) {
		t.Helper()
		args := []string{"-t", uri, status + ".test"}
		cmd := exec.Command(ipptool, args...)
		if as != "" {
			cmd = exec.Command(runuser, append([]string{"-u", as, "--", ipptool}, args...)...)
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "JOBNAME="+jobName)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "FAIL") || !strings.Contains(string(out), "PASS") {
			t.Fatalf("ipptool as %q, want %s: %v\n%s", as, status, err, out)
		}
	}

	p := newPerson(t)
	p.must("keys", "generate", "--name", "Dr Alice Doc", "--email", "alice@hospital.example")

	// A per-user serve: the other account's job is refused.
	addr := testutil.FreeAddr(t)
	stop := startServeProcStop(t, p, addr)
	uri := "ipp://" + addr + "/ipp/print/sealed"
	ipp(other, uri, "client-error-not-authorized", "intruder job")
	ipp("", uri, "successful-ok", "doctor job")
	waitJobs(t, p, 1)
	stop()

	// Without own_account_only: recorded under the other account.
	cfg, err := config.LoadFile(p.home)
	if err != nil {
		t.Fatal(err)
	}
	off := false
	cfg.Printer.OwnAccountOnly = &off
	if err := config.Save(p.home, cfg); err != nil {
		t.Fatal(err)
	}
	stop2 := startServeProcStop(t, p, addr)
	ipp(other, uri, "successful-ok", "other account job")
	ipp("", uri, "successful-ok", "doctor job 2")
	list := waitJobs(t, p, 2)
	for _, j := range list {
		if j.User != doctorName || strings.Contains(j.Name, "other") || strings.Contains(j.Name, "intruder") {
			t.Errorf("sealprint jobs lists %+v; want only %s's jobs", j, doctorName)
		}
	}
	// With serve stopped, 'sealprint jobs' reads the spool itself and
	// lists the same jobs as the page; root's --all shows the other
	// account's job, under its own name.
	stop2()
	for _, j := range listJobs(t, p) {
		if j.User != doctorName {
			t.Errorf("with serve stopped, sealprint jobs lists %+v; want only %s's jobs", j, doctorName)
		}
	}
	var all []jobUser
	if err := json.Unmarshal([]byte(p.must("jobs", "--json", "--all")), &all); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, j := range all {
		if j.Name == "other account job" {
			found = true
			if j.User != other {
				t.Errorf("the other account's job is recorded as %q, want %q", j.User, other)
			}
		}
		if strings.Contains(j.Name, "intruder") {
			t.Errorf("the refused job was spooled: %+v", j)
		}
	}
	if !found {
		t.Errorf("the other account's job is not in the spool: %+v", all)
	}
}

type jobUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	User string `json:"user"`
}

func listJobs(t *testing.T, p *person) []jobUser {
	t.Helper()
	var list []jobUser
	if err := json.Unmarshal([]byte(p.must("jobs", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// waitJobs waits until 'sealprint jobs' lists n jobs.
func waitJobs(t *testing.T, p *person, n int) []jobUser {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list := listJobs(t, p)
		if len(list) >= n || time.Now().After(deadline) {
			if len(list) != n {
				t.Fatalf("sealprint jobs lists %d jobs, want %d: %+v", len(list), n, list)
			}
			return list
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startServeProcStop is startServeProc returning a function that stops it.
func startServeProcStop(t *testing.T, p *person, addr string) func() {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "sealprint"), "serve", "--listen", addr)
	cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+p.home, "SEALPRINT_KEYRING=file")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	if !waitListening(t.Context(), addr, 30*time.Second) {
		t.Fatalf("serve did not listen on %s:\n%s", addr, logs.String())
	}
	return stop
}
