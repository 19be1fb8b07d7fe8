package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

// serveProc is a real 'sealprint serve' that a test can stop and start
// again.
type serveProc struct {
	t    *testing.T
	p    *person
	addr string
	env  []string
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// startServe runs 'sealprint serve' for p at addr with extra environment.
func startServe(t *testing.T, p *person, addr string, env ...string) *serveProc {
	t.Helper()
	s := &serveProc{t: t, p: p, addr: addr, env: env, logs: &lockedBuffer{}}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", s.logs.String())
		}
	})
	return s
}

func (s *serveProc) start() {
	s.t.Helper()
	cmd := exec.Command(testutil.Binary(s.t, "sealprint"), "serve", "--listen", s.addr, "--poll", "500ms")
	cmd.Env = append(append(os.Environ(), "SEALPRINT_HOME="+s.p.home, "SEALPRINT_KEYRING=file"), s.env...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	if !waitListening(s.t.Context(), s.addr, 60*time.Second) {
		s.t.Fatalf("serve did not listen on %s:\n%s", s.addr, s.logs.String())
	}
	// The API is ready once the service recorded its address.
	waitFor(s.t, "the service info", func() bool {
		_, err := jobs.ReadServiceInfo(filepath.Join(s.p.home, "spool"))
		return err == nil
	})
}

// stop ends serve as the service manager does (SIGTERM) and waits.
func (s *serveProc) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s.cmd = nil
}

// waitFor polls ok until it holds; the deadline only guards a hung test.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runEnv runs sealprint as p with extra environment.
func (p *person) runEnv(env []string, args ...string) (string, string, error) {
	cmd := exec.Command(testutil.Binary(p.t, "sealprint"), args...)
	cmd.Dir = p.dir
	cmd.Env = append(append(os.Environ(), "SEALPRINT_HOME="+p.home, "SEALPRINT_KEYRING=file"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// listJobs is 'sealprint jobs --json' (with extra arguments).
func (p *person) listJobs(args ...string) []jobs.JobView {
	p.t.Helper()
	out := p.must(append([]string{"jobs", "--json"}, args...)...)
	var list []jobs.JobView
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		p.t.Fatalf("jobs --json printed %q", out)
	}
	return list
}

// jobNamed returns the listed job called name, nil when none.
func jobNamed(list []jobs.JobView, name string) *jobs.JobView {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// ippPrint prints text to queue at addr with ipptool, as user.
func ippPrint(t *testing.T, addr, queue, user, name, text string) {
	t.Helper()
	ipptool := testutil.NeedTool(t, "ipptool")
	dir := t.TempDir()
	doc := filepath.Join(dir, "doc.txt")
	os.WriteFile(doc, []byte(text), 0o644)
	test := filepath.Join(dir, "print.test")
	os.WriteFile(test, []byte(`{
	NAME "Print-Job"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language fr
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name $juser
	ATTR name job-name $jname
	ATTR mimeMediaType document-format text/plain
	FILE $filename
	STATUS successful-ok
}
`), 0o644)
	out, err := exec.Command(ipptool, "-t", "-d", "juser="+user, "-d", "jname="+name, "-f", doc,
		"ipp://"+addr+"/ipp/print/"+queue, test).CombinedOutput()
	if err != nil || strings.Contains(string(out), "[FAIL]") {
		t.Fatalf("ipptool: %v\n%s", err, out)
	}
}

// TestJobsReleaseLinkModeThroughServe: 'sealprint jobs release' with the
// release form's link-mode flags, against a running 'sealprint serve' and
// a real 'sealrelay serve' with a policy and an SMS gateway: the policy
// refuses in the CLI (French or English after LANG) before anything
// leaves; a release by link with a code sent by SMS, an expiry, a download
// limit, a deadline and a reference is uploaded with them, the code
// printed once and sent once, and the recipient opens it. 'sealprint jobs'
// shows only the caller's jobs, with the service running and stopped;
// --all (root) shows the others'.
func TestJobsReleaseLinkModeThroughServe(t *testing.T) {
	testutil.NeedIntegration(t)
	var mu sync.Mutex
	var sms []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sms = append(sms, string(b))
		mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	defer gw.Close()
	relay := startRelayProc(t, "--sms-gateway", gw.URL+"/sms", "--sms-body", `{"to":"{to}","text":"Code {code}"}`)
	if out, err := exec.Command(testutil.Binary(t, "sealrelay"), "policy", "set", "--data", relay.data,
		"--allowed-domains", "*.police.example", "--max-expiry", "3d", "--max-downloads", "5", "--link-needs-code").CombinedOutput(); err != nil {
		t.Fatalf("policy set: %v\n%s", err, out)
	}
	doctor, officer := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	// Defaults beyond the policy: a release without --expires and
	// --max-downloads gets them lowered to the policy, as the form does.
	setConfig(t, doctor, "send", map[string]any{"expires": "10d", "max_downloads": 9})
	// The test, as root (a system account), prints for a colleague too,
	// as CUPS does for every user: a per-user serve refuses that unless
	// own_account_only is off.
	setConfig(t, doctor, "printer", map[string]any{"own_account_only": false})
	addr := testutil.FreeAddr(t)
	srv := startServe(t, doctor, addr)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	ippPrint(t, addr, "sealed", me.Username, "rapport-gav", "Rapport médico-légal\nGarde à vue n° 42\n")
	if me.Uid == "0" {
		// Root is believed when it names the user it prints for.
		ippPrint(t, addr, "sealed", "collegue", "autre-rapport", "Rapport d'un collègue\n")
	}
	var id string
	waitFor(t, "my job held", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-gav")
		if j != nil && j.State == spooler.Held {
			id = j.ID
			return true
		}
		return false
	})
	// The page's user only, as the page shows.
	if j := jobNamed(doctor.listJobs(), "autre-rapport"); j != nil {
		t.Fatalf("jobs lists another user's job: %+v", j)
	}
	var otherID string
	if me.Uid == "0" {
		waitFor(t, "the colleague's job held", func() bool {
			j := jobNamed(doctor.listJobs("--all"), "autre-rapport")
			if j != nil && j.State == spooler.Held {
				otherID = j.ID
				return true
			}
			return false
		})
	} else {
		doctor.fails("--all", "jobs", "--all")
	}

	// The relay's policy, checked by the CLI like the page, before
	// anything is sealed; French by default, English with LANG=en.
	fr := []string{"LANG=fr_FR.UTF-8", "LC_ALL=", "LC_MESSAGES="}
	en := []string{"LANG=en_GB.UTF-8", "LC_ALL=", "LC_MESSAGES="}
	for _, c := range []struct {
		env  []string
		want string
		args []string
	}{
		{fr, "l'organisation n'autorise que *.police.example (" + relayapi.RuleAllowedDomains + ")", []string{"--to", "x@gmail.com", "--link", "--code"}},
		{en, "the organisation allows only *.police.example (" + relayapi.RuleAllowedDomains + ")", []string{"--to", "x@gmail.com", "--link", "--code"}},
		{fr, "exige un code d'accès en mode lien (" + relayapi.RuleLinkNeedsCode + ")", []string{"--to", "opj@lyon.police.example", "--link"}},
		{fr, "(" + relayapi.RuleMaxExpiry + ")", []string{"--to", "opj@lyon.police.example", "--link", "--code", "--expires", "5d"}},
		{en, "between 1 and 5 (" + relayapi.RuleMaxDownloads + ")", []string{"--to", "opj@lyon.police.example", "--link", "--code", "--max-downloads", "9"}},
		{fr, "--code va avec --link", []string{"--to", "opj@lyon.police.example", "--code"}},
		{en, "--code-to goes with --code", []string{"--to", "opj@lyon.police.example", "--link", "--code-to", "sms:0612345678"}},
		{en, "international phone number", []string{"--to", "opj@lyon.police.example", "--link", "--code", "--code-to", "sms:0612"}},
		{fr, "une date et une heure", []string{"--to", "opj@lyon.police.example", "--link", "--code", "--deadline", "demain"}},
	} {
		_, errs, err := doctor.runEnv(c.env, append([]string{"jobs", "release", id}, c.args...)...)
		if err == nil || !strings.Contains(errs, c.want) {
			t.Errorf("release %v: %v %q, want %q", c.args, err, errs, c.want)
		}
	}
	if j := jobNamed(doctor.listJobs(), "rapport-gav"); j.State != spooler.Held {
		t.Fatalf("refused releases changed the job: %s", j.State)
	}
	// Another user's job is unknown to a release, as on the page.
	if otherID != "" {
		if _, errs, err := doctor.runEnv(nil, "jobs", "release", otherID, "--to", "opj@lyon.police.example", "--link", "--code"); err == nil || !strings.Contains(errs, "no such job") {
			t.Fatalf("release of another user's job: %v %s", err, errs)
		}
	}

	deadline := time.Now().Add(20 * time.Hour).Truncate(time.Minute)
	out, errs, err := doctor.runEnv(fr, "jobs", "release", id, "--to", "opj@lyon.police.example", "--link", "--code",
		"--code-to", "sms:06 12 34 56 78", "--expires", "2d", "--max-downloads", "3",
		"--deadline", deadline.Format("2006-01-02 15:04"), "--reference", "PV 2026/00042")
	if err != nil {
		t.Fatalf("release: %v\n%s", err, errs)
	}
	code := ""
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "Code d'accès — affiché une seule fois, notez-le et dictez-le au destinataire : "); ok {
			code = rest
		}
	}
	if len(code) != 8 || !strings.Contains(out, "Le relais envoie le code d'accès par sms:+33612345678.") {
		t.Fatalf("release printed:\n%s", out)
	}
	var up *jobs.JobView
	waitFor(t, "the upload", func() bool {
		up = jobNamed(doctor.listJobs(), "rapport-gav")
		return up.SecretLink != "" && (up.State == spooler.Uploaded || up.State == spooler.Delivered)
	})
	opt := up.SendOptionsOf()
	if opt.Mode != spooler.ModeLink || !opt.Code || opt.CodeTo != "sms:+33612345678" || opt.ExpiresIn != 48*time.Hour ||
		opt.MaxDownloads == nil || *opt.MaxDownloads != 3 || !opt.Deadline.Equal(deadline) || opt.Reference != "PV 2026/00042" {
		t.Fatalf("send options %+v", opt)
	}
	if d := time.Until(up.DropExpires); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("the drop expires at %s, want in 2 days", up.DropExpires)
	}
	if strings.Contains(out, up.SecretLink) || strings.Contains(doctor.must("jobs"), code) {
		t.Error("the code is printed again, or the link before the upload")
	}
	mu.Lock()
	got := append([]string(nil), sms...)
	mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], `"to":"+33612345678"`) || !strings.Contains(got[0], "Code "+code) {
		t.Fatalf("the SMS gateway got %q", got)
	}
	officer.must("open", up.SecretLink, "-o", "got.pdf", "--code", code)
	if b, err := os.ReadFile(filepath.Join(officer.dir, "got.pdf")); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatalf("opened: %v %q", err, b[:min(len(b), 20)])
	}

	// Without --expires and --max-downloads: the configuration's, lowered
	// to the policy's 3 days and 5 downloads.
	ippPrint(t, addr, "sealed", me.Username, "rapport-defauts", "Rapport\n")
	var third string
	waitFor(t, "the third job held", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-defauts")
		if j != nil && j.State == spooler.Held {
			third = j.ID
			return true
		}
		return false
	})
	doctor.must("jobs", "release", third, "--to", "opj@lyon.police.example", "--link", "--code")
	waitFor(t, "the third upload", func() bool { return jobNamed(doctor.listJobs(), "rapport-defauts").SecretLink != "" })
	dj := jobNamed(doctor.listJobs(), "rapport-defauts")
	if o := dj.SendOptionsOf(); o.ExpiresIn != 72*time.Hour || o.MaxDownloads == nil || *o.MaxDownloads != 5 {
		t.Fatalf("defaults: %+v", o)
	}

	// The service stopped: the CLI reads the spool itself, with the same
	// rule.
	srv.stop()
	if _, err := jobs.ReadServiceInfo(filepath.Join(doctor.home, "spool")); err == nil {
		t.Fatal("the service info outlived the service")
	}
	local := doctor.listJobs()
	if jobNamed(local, "rapport-gav") == nil || jobNamed(local, "autre-rapport") != nil {
		t.Fatalf("stopped service: jobs lists %d jobs: %v", len(local), names(local))
	}
	if me.Uid == "0" {
		if all := doctor.listJobs("--all"); jobNamed(all, "autre-rapport") == nil {
			t.Fatalf("--all lists %v", names(all))
		}
		if _, errs, err := doctor.runEnv(nil, "jobs", "cancel", otherID); err == nil || !strings.Contains(errs, "no such job") {
			t.Fatalf("cancel of another user's job with the service stopped: %v %s", err, errs)
		}
	}
}

func names(list []jobs.JobView) string {
	var n []string
	for _, j := range list {
		n = append(n, fmt.Sprintf("%s(%s)", j.Name, j.User))
	}
	return strings.Join(n, ", ")
}
