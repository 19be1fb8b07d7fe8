package recipient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/web/jobs"
)

// replyWorld is the real sealrelay binary and a doctor's real
// 'sealprint serve' printing to a queue for an officer whose key the
// doctor knows.
type replyWorld struct {
	t                      *testing.T
	relayData, relayURL    string
	doctor                 *sealprintUser
	serveAddr              string
	officerSecret, officer string
	officerFPR             string
	logs                   *lockedBuffer
}

// spawn starts a long-running program, killed (with its group) at cleanup.
func (w *replyWorld) spawn(env []string, name string, args ...string) {
	w.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var once sync.Once
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	w.t.Cleanup(func() {
		once.Do(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		})
	})
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func startReplyWorld(t *testing.T) *replyWorld {
	t.Helper()
	w := &replyWorld{t: t, relayData: filepath.Join(t.TempDir(), "relay"), officer: "cdt.martin@police.example", logs: &lockedBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("relay and service logs:\n%s", w.logs.String())
		}
	})
	addr := testutil.FreeAddr(t)
	w.relayURL = "http://" + addr
	sealrelay := testutil.Binary(t, "sealrelay")
	w.spawn(nil, sealrelay, "serve", "--data", w.relayData, "--listen", addr, "--public-url", w.relayURL)
	waitHTTP(t, w.relayURL+"/healthz")
	out, err := exec.Command(sealrelay, "token", "create", "--data", w.relayData, "--name", "Dr Claire Martin", "--json").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil {
		t.Fatal(err)
	}
	w.doctor = &sealprintUser{t: t, home: filepath.Join(t.TempDir(), "home"), wd: t.TempDir()}
	w.doctor.run("keys", "generate", "--name", "Dr Claire Martin", "--email", "claire.martin@chu-lyon.example")
	w.doctor.run("enroll", "--relay", w.relayURL, "--token", tok.Token)

	officer, err := envelope.GenerateKey("Cdt Martin", w.officer, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.officerFPR = officer.Fingerprint()
	var pub, sec bytes.Buffer
	officer.WritePublic(&pub, true)
	officer.WriteSecret(&sec, true, []byte(officerPass))
	pubFile := filepath.Join(w.doctor.wd, "martin.asc")
	w.officerSecret = filepath.Join(t.TempDir(), "martin-secret.asc")
	os.WriteFile(pubFile, pub.Bytes(), 0o644)
	os.WriteFile(w.officerSecret, sec.Bytes(), 0o600)
	w.doctor.run("keys", "import", pubFile)
	cfg, err := config.LoadFile(w.doctor.home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queues = append(cfg.Queues, config.Queue{Name: "martin", Recipients: []string{w.officer}})
	if err := config.Save(w.doctor.home, cfg); err != nil {
		t.Fatal(err)
	}
	w.serveAddr = testutil.FreeAddr(t)
	w.spawn([]string{"SEALPRINT_HOME=" + w.doctor.home, "SEALPRINT_KEYRING=file"}, testutil.Binary(t, "sealprint"),
		"serve", "--listen", w.serveAddr, "--poll", "300ms")
	waitHTTP(t, "http://"+w.serveAddr+"/ipp/print")
	return w
}

// print sends doc to the service's queue with an IPP Print-Job.
func (w *replyWorld) print(queue, name string, doc []byte) {
	w.t.Helper()
	uri := "ipp://" + w.serveAddr + "/ipp/print/" + queue
	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpPrintJob, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("fr")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(osUser())))
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(name)))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	body, err := m.EncodeBytes()
	if err != nil {
		w.t.Fatal(err)
	}
	resp, err := http.Post("http://"+w.serveAddr+"/ipp/print/"+queue, goipp.ContentType, bytes.NewReader(append(body, doc...)))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer goipp.Message
	if err := answer.Decode(resp.Body); err != nil || goipp.Status(answer.Code) != goipp.StatusOk {
		w.t.Fatalf("Print-Job: %v, status %v", err, goipp.Status(answer.Code))
	}
}

// osUser is the account running the tests: the jobs list shows the
// jobs of its own user.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "doctor"
}

// replyJob is a job as 'sealprint jobs --json' prints it.
type replyJob struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	State   string `json:"state"`
	Link    string `json:"link"`
	DropID  string `json:"drop_id"`
	Replies []struct {
		ID     string `json:"id"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"replies"`
}

// waitJob polls 'sealprint jobs --json' until ok accepts the job named name.
func (w *replyWorld) waitJob(name string, ok func(j replyJob) bool) replyJob {
	w.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		last = w.doctor.run("jobs", "--json")
		var list []replyJob
		json.Unmarshal([]byte(last), &list)
		for _, j := range list {
			if j.Name == name && ok(j) {
				return j
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("job %s never got there; jobs: %s", name, last)
	return replyJob{}
}

// revoke deletes the drop on the relay with the doctor's credential.
func (w *replyWorld) revoke(drop string) {
	w.t.Helper()
	cfg, err := config.LoadFile(w.doctor.home)
	if err != nil {
		w.t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodDelete, w.relayURL+"/api/v1/drops/"+drop, nil)
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		w.t.Fatalf("revoke: %v %v", err, resp)
	}
	resp.Body.Close()
}

// grepTree lists the files under dir holding any of markers.
func grepTree(t *testing.T, dir string, markers ...string) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				hits = append(hits, fmt.Sprintf("%s holds %q", p, m))
			}
		}
		return nil
	})
	return hits
}

// replyPage is what the reply test needs of a browser tab.
type replyPage interface {
	a11yPage
	goto_(url string)
	uploadFiles(sel string, files ...string)
}

func (p *ffPage) uploadFiles(sel string, files ...string) {
	p.do(nil, "upload", "sel", sel, "files", files)
}

// cdpReplyPage is a Chromium tab for the reply test.
type cdpReplyPage struct{ *cdpA11yPage }

func (p cdpReplyPage) goto_(url string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Navigate(url)); err != nil {
		p.t.Fatal(err)
	}
}

func (p cdpReplyPage) uploadFiles(sel string, files ...string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), files)); err != nil {
		p.t.Fatal(err)
	}
}

// TestFirefoxSecureReply: a document printed by the doctor opens in
// Firefox ESR with the officer's key; the officer replies securely with
// two files and a message; the doctor's 'sealprint jobs' lists the reply
// under the job, 'sealprint open --reply' decrypts both files with the
// officer's signature verified, the proof of delivery lists it, and the
// relay's data dir holds none of the plaintext; the doctor opens it on the
// jobs page in Firefox too, and downloads both files at once. A reply once
// the drop is gone (revoked) is refused and the page says so. axe-core
// checks each reply state.
func TestFirefoxSecureReply(t *testing.T) {
	ff := startFirefox(t)
	w := startReplyWorld(t)
	p := ff.page(t)
	secureReply(t, w, p, func(replyID string, files map[string][]byte, markers []string) {
		jobsPageReply(t, w, ff.page(t), ff.DownloadDir, replyID, files, markers)
	})
	expiredReply(t, w, p)
}

// release sends the held job id to the officer through the service's jobs
// API, with a drop lifetime of expires.
func (w *replyWorld) release(id string, expires time.Duration) {
	w.t.Helper()
	info, err := jobs.ReadServiceInfo(filepath.Join(w.doctor.home, "spool"))
	if err != nil {
		w.t.Fatal(err)
	}
	body, _ := json.Marshal(jobs.ActionRequest{To: []string{w.officer}, ExpiresInSeconds: int64(expires / time.Second)})
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(info.URL, "/")+"/jobs/api/"+id+"/release", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		w.t.Fatalf("release: %s %s", resp.Status, b)
	}
}

// expiredReply: a reply written while the document was available but sent
// after it expired is refused, and the page says so. p already holds the
// officer's key.
func expiredReply(t *testing.T, w *replyWorld, p replyPage) {
	w.print("sealed", "bref.pdf", samplePDF(1))
	held := w.waitJob("bref.pdf", func(j replyJob) bool { return j.State == "held" })
	w.release(held.ID, 45*time.Second)
	job := w.waitJob("bref.pdf", func(j replyJob) bool { return j.Link != "" })
	p.goto_(job.Link)
	p.waitState("key")
	p.typeIn(`#unlock-pass`, officerPass)
	p.click(`#unlock-form button[type=submit]`)
	p.waitState("decrypted")
	p.poll(`document.documentElement.dataset.reply === "offered"`)
	p.click(`#reply-open`)
	p.typeIn(`#reply-message`, "Trop tard ?")
	// Wait for the relay to call the drop expired.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(w.relayURL + "/api/v1/drops/" + job.DropID)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusGone {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the drop never expired")
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.click(`#reply-form button[type=submit]`)
	if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "failed" {
		t.Fatalf("reply to an expired drop: %s", st)
	}
	if text := p.str(`document.getElementById("reply-status-text").textContent`); !strings.Contains(text, "expiré") {
		t.Errorf("failed state: %q", text)
	}
	j := w.waitJob("bref.pdf", func(replyJob) bool { return true })
	if len(j.Replies) != 0 {
		t.Errorf("the expired drop got replies: %+v", j.Replies)
	}
}

// TestChromiumSecureReply is TestFirefoxSecureReply in Chromium.
func TestChromiumSecureReply(t *testing.T) {
	e := newBrowserEnv(t)
	axeSrc, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(), "web", "recipient", "browsertest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core (scripts/test installs it): %v", err)
	}
	w := startReplyWorld(t)
	ctx := e.tab(t)
	secureReply(t, w, cdpReplyPage{&cdpA11yPage{cdpPage: cdpPage{t: t, ctx: ctx}, axeSrc: string(axeSrc)}}, func(replyID string, files map[string][]byte, markers []string) {
		jobsPageReplyChromium(t, w, cdpReplyPage{&cdpA11yPage{cdpPage: cdpPage{t: t, ctx: e.tab(t)}, axeSrc: string(axeSrc)}}, replyID, files, markers)
	})
}

// secureReply runs the reply scenario in page p; opened, when set, is
// called once the reply reached the doctor, with its files and the
// plaintext markers in it.
func secureReply(t *testing.T, w *replyWorld, p replyPage, opened func(replyID string, files map[string][]byte, markers []string)) {
	w.print("martin", "rapport.pdf", samplePDF(1))
	job := w.waitJob("rapport.pdf", func(j replyJob) bool { return j.Link != "" })

	p.goto_(job.Link)
	p.click(`button[data-lang="fr"]`)
	p.waitState("key")
	p.uploadFiles(`#import-file`, w.officerSecret)
	p.typeIn(`#import-pass`, officerPass)
	p.click(`#import-form button[type=submit]`)
	p.waitState("decrypted")
	p.poll(`document.documentElement.dataset.reply === "offered"`)
	if got := p.str(`document.getElementById("reply-open").textContent`); got != "Répondre de façon sécurisée" {
		t.Errorf("reply button reads %q", got)
	}
	p.axe("reply offered")
	p.click(`#reply-open`)
	p.poll(`document.documentElement.dataset.reply === "form"`)
	if p.str(`document.activeElement.id`) != "reply-files" {
		t.Error("opening the form does not move the focus to its first field")
	}
	p.axe("reply form")

	const m1, m2, m3 = "REPLY-MARKER-ONE-7f3a", "REPLY-MARKER-TWO-91bc", "REPLY-MARKER-MESSAGE-c04d"
	dir := t.TempDir()
	pv := append([]byte("%PDF-1.4\n% procès-verbal "+m1+"\n"), bytes.Repeat([]byte("x"), 300000)...)
	notes := []byte("Notes d'audition " + m2 + "\n")
	f1, f2 := filepath.Join(dir, "procès-verbal.pdf"), filepath.Join(dir, "notes.txt")
	os.WriteFile(f1, pv, 0o644)
	os.WriteFile(f2, notes, 0o644)
	p.uploadFiles("#reply-files", f1, f2)
	p.typeIn(`#reply-message`, "Bien reçu, merci. "+m3)
	p.click(`#reply-form button[type=submit]`)
	if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "sent" {
		t.Fatalf("reply %s: %s", st, p.str(`document.getElementById("reply-status-text").textContent`))
	}
	if !strings.Contains(p.str(`document.getElementById("reply-status-text").textContent`), "envoyée") {
		t.Errorf("done state: %q", p.str(`document.getElementById("reply-status-text").textContent`))
	}
	p.axe("reply sent")
	replyID := p.str(`document.documentElement.dataset.replyId`)

	// The doctor's service sees the reply under the job.
	job = w.waitJob("rapport.pdf", func(j replyJob) bool { return len(j.Replies) == 1 && j.Replies[0].ID == replyID })
	if text := w.doctor.run("jobs"); !strings.Contains(text, replyID) || !strings.Contains(text, "open --reply "+replyID) {
		t.Errorf("sealprint jobs does not list the reply:\n%s", text)
	}
	out := filepath.Join(w.doctor.wd, "reponse")
	var res struct {
		Files []struct {
			Name string `json:"name"`
		} `json:"files"`
		Message           string `json:"message"`
		SignatureValid    bool   `json:"signature_valid"`
		SignerFingerprint string `json:"signer_fingerprint"`
	}
	if err := json.Unmarshal([]byte(w.doctor.run("open", "--reply", replyID, "-o", out, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.SignatureValid || res.SignerFingerprint != w.officerFPR {
		t.Errorf("reply signature: valid %v by %s, want the officer's %s", res.SignatureValid, res.SignerFingerprint, w.officerFPR)
	}
	if len(res.Files) != 2 || !strings.Contains(res.Message, m3) {
		t.Fatalf("opened reply %+v", res)
	}
	for name, want := range map[string][]byte{"procès-verbal.pdf": pv, "notes.txt": notes} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes attached", name, len(got), err, len(want))
		}
	}
	if msg, _ := os.ReadFile(filepath.Join(out, "message.txt")); !strings.Contains(string(msg), m3) {
		t.Errorf("message.txt: %q", msg)
	}
	// The proof of delivery lists the reply.
	proof := filepath.Join(w.doctor.wd, "preuve.json")
	w.doctor.run("jobs", "proof", job.ID, "-o", proof)
	if b, _ := os.ReadFile(proof); !bytes.Contains(b, []byte(replyID)) {
		t.Errorf("the proof of delivery does not list reply %s", replyID)
	}
	// So does the relay's own export of it.
	exported, err := exec.Command(testutil.Binary(t, "sealrelay"), "audit", "export", "--data", w.relayData, "--drop", job.DropID).Output()
	if err != nil || !bytes.Contains(exported, []byte(replyID)) {
		t.Errorf("sealrelay audit export: %v; does not list reply %s", err, replyID)
	}
	if hits := grepTree(t, w.relayData, m1, m2, m3); len(hits) > 0 {
		t.Fatalf("plaintext on the relay: %v", hits)
	}
	if opened != nil {
		opened(replyID, map[string][]byte{"procès-verbal.pdf": pv, "notes.txt": notes}, []string{m1, m2, m3})
	}

	// Once the drop is gone, a new reply is refused and the page says why.
	p.click(`#reply-again`)
	p.poll(`document.documentElement.dataset.reply === "form"`)
	p.uploadFiles(`#reply-files`, f2)
	w.revoke(job.DropID)
	p.click(`#reply-form button[type=submit]`)
	if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "failed" {
		t.Fatalf("reply to a revoked drop: %s", st)
	}
	if text := p.str(`document.getElementById("reply-status-text").textContent`); !strings.Contains(text, "plus disponible") {
		t.Errorf("failed state: %q", text)
	}
	p.axe("reply failed")
}
