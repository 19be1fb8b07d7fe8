package spooler_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// waitJob waits until the job named name reaches state want.
func (w *world) waitJob(name string, want spooler.State) jobView {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last []jobView
	for time.Now().Before(deadline) {
		jobs, err := w.jobs()
		if err == nil {
			last = jobs
			for _, j := range jobs {
				if j.Name == name && j.State == want {
					return j
				}
				if j.Name == name && j.State == spooler.Failed && j.Permanent {
					w.t.Fatalf("job %s failed: %s", name, j.Error)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("job %s never reached %s; jobs: %+v", name, want, last)
	return jobView{}
}

// openLink opens a link as the recipient and returns the document and
// what sealprint open reports.
func (w *world) openLink(link string) ([]byte, map[string]any) {
	w.t.Helper()
	out := filepath.Join(w.dir, "opened.pdf")
	os.Remove(out)
	res := w.sp(w.recipient, "open", link, "-o", out, "--force", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(res), &m); err != nil {
		w.t.Fatalf("open --json: %v: %s", err, res)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		w.t.Fatal(err)
	}
	os.Remove(out)
	return b, m
}

// pdfText extracts a PDF's text with poppler's pdftotext (CUPS rewrites
// the PDF on the way, so bytes differ from what was printed).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	os.WriteFile(f, pdf, 0o600)
	out, err := exec.Command(testutil.NeedTool(t, "pdftotext"), f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// jobMessages returns job-state-message of every job the printer knows.
func jobMessages(t *testing.T, addr string) []string {
	uri := "ipp://" + addr + "/ipp/print/sealed"
	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetJobs, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en-us")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	m.Operation.Add(goipp.MakeAttribute("which-jobs", goipp.TagKeyword, goipp.String("all")))
	m.Operation.Add(goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("job-state-message")))
	ans, err := ippCall(addr, "/ipp/print/sealed", m)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, g := range ans.Groups {
		for _, a := range g.Attrs {
			if a.Name == "job-state-message" && len(a.Values) > 0 {
				msgs = append(msgs, a.Values[0].V.String())
			}
		}
	}
	return msgs
}

// TestEndToEndCUPS prints through a real CUPS queue made with lpadmin -m
// everywhere to a queue with a fixed recipient and to the default queue
// (released with 'sealprint jobs release'), then opens both links as the
// recipient: the documents come back whole and signed by the sender. A
// scanner looks for the documents' plaintext in the sender's state and
// temp dirs the whole time.
func TestEndToEndCUPS(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "lpadmin")
	testutil.NeedTool(t, "lp")
	w := newWorld(t, "--poll", "300ms")
	w.startServe()
	c := testutil.StartCupsd(t)
	for _, q := range []string{"martin", "sealed"} {
		c.AddEverywhere(t, q, "ipp://"+w.addr+"/ipp/print/"+q)
	}
	marker := []byte("PLAINTEXT-MARKER-E2E")
	stop := make(chan struct{})
	var hits []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			hits = append(hits, scanForMarker([]string{w.sender, w.tmp}, marker)...)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	docs := filepath.Join(t.TempDir(), "docs")
	os.MkdirAll(docs, 0o755)
	os.Chmod(filepath.Dir(docs), 0o755)
	report := makePDF("Forensic report " + string(marker) + " fixed")
	held := makePDF("Forensic report " + string(marker) + " held")
	os.WriteFile(filepath.Join(docs, "report.pdf"), report, 0o644)
	os.WriteFile(filepath.Join(docs, "held.pdf"), held, 0o644)
	if _, err := c.Output(t, "lp", "-d", "martin", "-o", "document-format=application/pdf", "-t", "report.pdf", filepath.Join(docs, "report.pdf")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Output(t, "lp", "-d", "sealed", "-o", "document-format=application/pdf", "-t", "held.pdf", filepath.Join(docs, "held.pdf")); err != nil {
		t.Fatal(err)
	}

	j := w.waitJob("report.pdf", spooler.Uploaded)
	if len(j.Recipients) != 1 || j.Recipients[0] != recipientEmail || !strings.HasPrefix(j.Link, "http://"+w.relayAddr+"/d/") {
		t.Fatalf("uploaded job: %+v", j)
	}
	h := w.waitJob("held.pdf", spooler.Held)
	if h.Pages != 1 {
		t.Fatalf("held job pages %d", h.Pages)
	}
	// The message names the service's own jobs page, not the default one.
	if page := "http://" + w.addr + "/jobs"; !strings.Contains(h.Message, page) {
		t.Fatalf("held job message %q does not name %s", h.Message, page)
	}
	w.sp(w.sender, "jobs", "release", h.ID, "--to", recipientEmail)
	h = w.waitJob("held.pdf", spooler.Uploaded)

	var keys []struct {
		Fingerprint string `json:"fingerprint"`
		Own         bool   `json:"own"`
	}
	json.Unmarshal([]byte(w.sp(w.sender, "keys", "list", "--json")), &keys)
	senderFpr := ""
	for _, k := range keys {
		if k.Own {
			senderFpr = k.Fingerprint
		}
	}
	for _, tc := range []struct {
		link string
		want []byte
	}{{j.Link, report}, {h.Link, held}} {
		got, res := w.openLink(tc.link)
		if text := pdfText(t, got); !bytes.HasPrefix(got, []byte("%PDF-")) || !strings.Contains(text, string(marker)) {
			t.Fatalf("opened document is not the printed one (%d bytes): %q", len(got), text)
		}
		if res["verified"] != true || senderFpr == "" || res["signer_fingerprint"] != senderFpr {
			t.Fatalf("signature: %v (sender key %s)", res, senderFpr)
		}
		t.Logf("opened %s: %d bytes, signed by %v (%v)", tc.link, len(got), res["signer"], res["signer_fingerprint"])
	}
	// The relay's status reaches the sender and the printer's job list.
	w.waitJob("report.pdf", spooler.Delivered)
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := jobMessages(t, w.addr)
		if strings.Contains(strings.Join(msgs, "|"), "opened by the recipient") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job-state-message never said opened: %q", msgs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The jobs page lists held jobs; with the service stopped, 'sealprint
	// jobs' works on the spool directly.
	if err := printIPP(t.Context(), w.addr, "sealed", "to-cancel.pdf", makePDF("cancel me")); err != nil {
		t.Fatal(err)
	}
	c2 := w.waitJob("to-cancel.pdf", spooler.Held)
	// The page needs the user's secret (as 'sealprint jobs --open' gives it).
	secret, err := os.ReadFile(filepath.Join(w.sender, "jobs-secret"))
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get("http://" + w.addr + "/jobs?key=" + strings.TrimSpace(string(secret)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("to-cancel.pdf")) || !bytes.Contains(page, []byte(recipientEmail)) {
		t.Fatalf("jobs page %d:\n%s", resp.StatusCode, page)
	}
	w.stopServe()
	if out := w.sp(w.sender, "jobs", "cancel", c2.ID); !strings.Contains(out, "canceled") && !strings.Contains(out, "annulé") {
		t.Fatalf("offline cancel: %s", out)
	}
	w.startServe()
	w.waitJob("to-cancel.pdf", spooler.Canceled)

	close(stop)
	wg.Wait()
	if len(hits) > 0 {
		t.Fatalf("plaintext found on disk: %v", hits)
	}
	// Only ciphertext at the relay too.
	if h := scanForMarker([]string{w.relayData}, marker); len(h) > 0 {
		t.Fatalf("plaintext in relay storage: %v", h)
	}
}

// TestBusyPrinter: a full spool makes the printer answer
// server-error-busy (the client retries later); nothing crashes and the
// job is accepted once there is room.
func TestBusyPrinter(t *testing.T) {
	testutil.NeedIntegration(t)
	w := newWorld(t, "--max-jobs", "1")
	w.startServe()
	if err := printIPP(t.Context(), w.addr, "sealed", "first.pdf", makePDF("first")); err != nil {
		t.Fatal(err)
	}
	w.waitJob("first.pdf", spooler.Held)
	err := printIPP(t.Context(), w.addr, "sealed", "second.pdf", makePDF("second"))
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("second job on a full spool: %v", err)
	}
	jobs, _ := w.jobs()
	w.sp(w.sender, "jobs", "cancel", jobs[0].ID)
	if err := printIPP(t.Context(), w.addr, "sealed", "second.pdf", makePDF("second")); err != nil {
		t.Fatalf("after room was made: %v", err)
	}
	w.waitJob("second.pdf", spooler.Held)
}
