package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/web/jobs"
)

// servedJobs talks to a running 'sealprint serve' as its user: the jobs
// page's API with the user's secret.
type servedJobs struct {
	t      *testing.T
	base   string // http://ADDR
	secret string
}

func (s *servedJobs) do(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.base+path, r)
	req.Header.Set("Authorization", "Bearer "+s.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *servedJobs) job(id string) jobs.JobView {
	s.t.Helper()
	status, b := s.do("GET", "/jobs/api/"+id, nil)
	if status != http.StatusOK {
		s.t.Fatalf("GET job %s: %d %s", id, status, b)
	}
	var v jobs.JobView
	if err := json.Unmarshal(b, &v); err != nil {
		s.t.Fatal(err)
	}
	return v
}

// waitJob waits until ok holds for the job (a guard of 120 s against a
// hung test, not a timing assertion).
func (s *servedJobs) waitJob(id, what string, ok func(jobs.JobView) bool) jobs.JobView {
	s.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		v := s.job(id)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s never %s: %+v", id, what, v.Job)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// printOverIPP prints a text document to the queue at uri with ipptool,
// as the current user.
func printOverIPP(t *testing.T, ipptool, uri, name, text string) {
	t.Helper()
	dir := t.TempDir()
	doc := filepath.Join(dir, name+".txt")
	os.WriteFile(doc, []byte(text), 0o644)
	u, _ := user.Current()
	test := filepath.Join(dir, "print.test")
	os.WriteFile(test, []byte(fmt.Sprintf(`{
	NAME "Print-Job %s"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language fr
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name "%s"
	ATTR name job-name "%s"
	ATTR mimeMediaType document-format text/plain
	FILE %s
	STATUS successful-ok
}
`, name, u.Username, name, doc)), 0o644)
	out, err := exec.Command(ipptool, "-t", uri, test).CombinedOutput()
	if err != nil || strings.Contains(string(out), "[FAIL]") || strings.Contains(string(out), "cannot be read") {
		t.Fatalf("ipptool print-job: %v\n%s", err, out)
	}
}

// heldJob returns the id of the job named name once it is held.
func (s *servedJobs) heldJob(name string) string {
	s.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		status, b := s.do("GET", "/jobs/api", nil)
		if status != http.StatusOK {
			s.t.Fatalf("GET jobs: %d %s", status, b)
		}
		var list []jobs.JobView
		json.Unmarshal(b, &list)
		for _, v := range list {
			if strings.HasPrefix(v.Name, name) && v.State == "held" {
				return v.ID
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no held job %s: %s", name, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJobsProofThroughServe: a real relay and a real 'sealprint serve'; a
// report printed over IPP is released from the jobs page's API,
// delivered, opened by the officer (receipt), and 'sealprint jobs proof -o
// FILE' writes a proof that 'verify-proof' accepts against the relay's
// published audit key, naming the officer's key; one changed byte is
// refused. A job printed to a queue for an address whose key only the
// relay's directory knows is held; confirming the key through the page
// (the user's secret, the page's CSRF token) sends it.
func TestJobsProofThroughServe(t *testing.T) {
	testutil.NeedIntegration(t)
	ipptool := testutil.NeedTool(t, "ipptool")
	relayBin := testutil.Binary(t, "sealrelay")
	doctor, officer, second := newPerson(t), newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	second.must("keys", "generate", "--name", "Adj Blanc", "--email", "blanc@police.example")
	martin := filepath.Join(doctor.dir, "martin.asc")
	os.WriteFile(martin, []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	doctor.must("keys", "import", martin)
	durand := filepath.Join(officer.dir, "durand.asc")
	os.WriteFile(durand, []byte(doctor.must("keys", "export", "durand@chu.example")), 0o644)
	officer.must("keys", "import", durand)
	second.must("keys", "import", durand)

	// Blanc's key is only in the relay's directory.
	data := t.TempDir()
	blanc := filepath.Join(doctor.dir, "blanc.asc")
	os.WriteFile(blanc, []byte(second.must("keys", "export", "blanc@police.example")), 0o644)
	if out, err := exec.Command(relayBin, "keys", "import", "--verified", blanc, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("keys import: %v\n%s", err, out)
	}
	rl := startRelayIn(t, data)
	doctor.must("enroll", "--relay", rl.url, "--token", rl.token(t, "Dr Durand"))
	// A queue to Blanc: printing to it sends without a click, once his
	// first key is confirmed.
	doctor.must("queues", "add", "blanc", "--to", "blanc@police.example")

	addr := testutil.FreeAddr(t)
	startServeProc(t, doctor, addr, "--poll", "1s")
	secret, err := os.ReadFile(filepath.Join(doctor.home, jobs.SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	sj := &servedJobs{t: t, base: "http://" + addr, secret: strings.TrimSpace(string(secret))}
	uri := "ipp://" + addr + "/ipp/print/sealed"

	// 1. Printed, released, delivered, opened.
	printOverIPP(t, ipptool, uri, "rapport-martin", "Rapport médico-légal\nM. X, examiné le 1er décembre.\n")
	id := sj.heldJob("rapport-martin")
	if status, b := sj.do("POST", "/jobs/api/"+id+"/release", jobs.ActionRequest{To: []string{"martin@police.example"}}); status != http.StatusOK {
		t.Fatalf("release: %d %s", status, b)
	}
	v := sj.waitJob(id, "uploaded", func(v jobs.JobView) bool { return v.DropID != "" && v.Link != "" })
	if len(v.SealedKeys) != 1 || !strings.Contains(officer.must("keys", "list"), v.SealedKeys[0].Fingerprint) {
		t.Fatalf("sealed keys %+v", v.SealedKeys)
	}
	officer.must("open", v.Link, "-o", "got.pdf", "--json")
	sj.waitJob(id, "opened", func(v jobs.JobView) bool { return !v.OpenedAt.IsZero() })

	keyFile := filepath.Join(doctor.dir, "audit-key.json")
	keyJSON, err := exec.Command(relayBin, "audit", "key", "--data", rl.data).Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, keyJSON, 0o644)
	proofFile := filepath.Join(doctor.dir, "preuve.json")
	if out := doctor.must("jobs", "proof", id, "-o", proofFile); !strings.Contains(out, "proof of delivery: "+proofFile) {
		t.Fatalf("jobs proof printed %q", out)
	}
	if pdf, err := os.ReadFile(strings.TrimSuffix(proofFile, ".json") + ".pdf"); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("proof PDF: %v", err)
	}
	out := doctor.must("verify-proof", proofFile, "--audit-key", keyFile)
	for _, want := range []string{"proof of delivery valid: drop " + v.DropID, "Receipt", "martin@police.example", v.SealedKeys[0].Fingerprint, v.SealedKeys[0].EncryptionKey,
		"signed by key / accusé signé par la clé " + v.SealedKeys[0].Fingerprint} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify-proof printed no %q:\n%s", want, out)
		}
	}
	good, _ := os.ReadFile(proofFile)
	bad := bytes.Clone(good)
	i := bytes.Index(bad, []byte(v.SealedKeys[0].Fingerprint))
	bad[i] ^= 0x01 // one byte of the officer's fingerprint
	os.WriteFile(proofFile, bad, 0o644)
	doctor.fails("proof of delivery refused", "verify-proof", proofFile, "--audit-key", keyFile)
	// With the officer's public key, the proof's key and his signed
	// receipt check offline; another recipient's key is not named in it.
	os.WriteFile(proofFile, good, 0o644)
	out = doctor.must("verify-proof", proofFile, "--audit-key", keyFile, "--recipient-cert", martin)
	if !strings.Contains(out, "the message was sealed to its encryption key "+v.SealedKeys[0].EncryptionKey) || !strings.Contains(out, "signature verified") {
		t.Fatalf("verify-proof --recipient-cert printed:\n%s", out)
	}
	doctor.fails("does not name key", "verify-proof", proofFile, "--audit-key", keyFile, "--recipient-cert", blanc)

	// 2. A first key from the relay's directory: held until confirmed on
	// the page.
	printOverIPP(t, ipptool, "ipp://"+addr+"/ipp/print/blanc", "rapport-blanc", "Rapport pour l'adjudant Blanc\n")
	id2 := sj.heldJob("rapport-blanc")
	held := sj.waitJob(id2, "held for the key", func(v jobs.JobView) bool { return v.ConfirmKey != nil })
	fpr := held.ConfirmKey.Fingerprint
	if !strings.Contains(second.must("keys", "list"), fpr) {
		t.Fatalf("held for key %s, not Blanc's", fpr)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(sj.base + "/jobs?key=" + url.QueryEscape(sj.secret))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || !bytes.Contains(page, []byte(`action="/jobs/`+id2+`/confirm-key"`)) {
		t.Fatalf("jobs page: %d, no confirm form:\n%s", resp.StatusCode, page)
	}
	// Without the user's secret nothing is confirmed.
	resp, err = http.PostForm(sj.base+"/jobs/"+id2+"/confirm-key", url.Values{"csrf": {string(m[1])}, "address": {"blanc@police.example"}, "fingerprint": {fpr}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("confirm without the secret: %d", resp.StatusCode)
	}
	if v := sj.job(id2); v.State != "held" {
		t.Fatalf("job after an unauthenticated confirm: %s", v.State)
	}
	resp, err = browser.PostForm(sj.base+"/jobs/"+id2+"/confirm-key", url.Values{"csrf": {string(m[1])}, "address": {"blanc@police.example"}, "fingerprint": {fpr}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}
	v2 := sj.waitJob(id2, "uploaded", func(v jobs.JobView) bool { return v.DropID != "" && v.Link != "" })
	if len(v2.SealedKeys) != 1 || v2.SealedKeys[0].Fingerprint != fpr {
		t.Fatalf("sent to %+v, confirmed %s", v2.SealedKeys, fpr)
	}
	if out := second.must("open", v2.Link, "-o", "got.pdf", "--json"); !strings.Contains(out, `"signature_valid": true`) || !strings.Contains(out, `"receipt_signed": true`) {
		t.Fatalf("Blanc opens: %s", out)
	}

	// 3. One job to both: each recipient's "opened" is its own, from a
	// receipt signed with its key.
	printOverIPP(t, ipptool, uri, "rapport-deux", "Rapport pour deux\n")
	id3 := sj.heldJob("rapport-deux")
	if status, b := sj.do("POST", "/jobs/api/"+id3+"/release", jobs.ActionRequest{To: []string{"martin@police.example", "blanc@police.example"}}); status != http.StatusOK {
		t.Fatalf("release to both: %d %s", status, b)
	}
	v3 := sj.waitJob(id3, "uploaded", func(v jobs.JobView) bool { return v.DropID != "" && v.Link != "" })
	officer.must("open", v3.Link, "-o", "both.pdf")
	delivery := func(v jobs.JobView, who string) jobs.RecipientStatus {
		for _, d := range v.Deliveries {
			if d.Recipient == who {
				return d
			}
		}
		t.Fatalf("no delivery for %s: %+v", who, v.Deliveries)
		return jobs.RecipientStatus{}
	}
	v3 = sj.waitJob(id3, "opened by Martin", func(v jobs.JobView) bool { return delivery(v, "martin@police.example").State == jobs.DeliveryOpened })
	if d := delivery(v3, "martin@police.example"); d.OpenedBy != "recipient" {
		t.Fatalf("Martin %+v", d)
	}
	if d := delivery(v3, "blanc@police.example"); d.State == jobs.DeliveryOpened {
		t.Fatalf("Blanc shown opened before he opened it: %+v", d)
	}
	// The same in 'sealprint jobs --json'.
	var listed []jobs.JobView
	if err := json.Unmarshal([]byte(doctor.must("jobs", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	for _, l := range listed {
		if l.ID == id3 && (delivery(l, "martin@police.example").OpenedBy != "recipient" || delivery(l, "blanc@police.example").State == jobs.DeliveryOpened) {
			t.Fatalf("jobs --json deliveries %+v", l.Deliveries)
		}
	}
	second.must("open", v3.Link, "-o", "both.pdf")
	sj.waitJob(id3, "opened by Blanc", func(v jobs.JobView) bool { return delivery(v, "blanc@police.example").OpenedBy == "recipient" })
}
