package recipient_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/web/jobs"
)

// jobsPageReplyChromium is jobsPageReply in the Chromium tab p, its
// downloads saved to a directory of the test's.
func jobsPageReplyChromium(t *testing.T, w *replyWorld, p cdpReplyPage, replyID string, files map[string][]byte, markers []string) {
	t.Helper()
	dir := t.TempDir()
	// The tab exists once run: only then is its browser context known.
	p.str("1")
	c := chromedp.FromContext(p.ctx)
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, BrowserContextID: c.BrowserContextID}); err != nil {
		t.Fatal(err)
	}
	jobsPageReply(t, w, p, dir, replyID, files, markers)
}

// jobsPageReply opens the reply replyID on the doctor's jobs page (served
// by the real 'sealprint serve') in page p, Chromium or Firefox ESR (a
// doctor's PC may run either): the page's "Open" form shows the officer's
// valid signature, the message and each file; every file's button is
// clicked at once and each file lands byte for byte in downloads, the
// browser's download directory; axe-core is clean on both pages; the
// service wrote none of the reply to the doctor's disk.
func jobsPageReply(t *testing.T, w *replyWorld, p replyPage, downloads, replyID string, files map[string][]byte, markers []string) {
	t.Helper()
	info, err := jobs.ReadServiceInfo(filepath.Join(w.doctor.home, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	p.goto_(strings.TrimSuffix(info.URL, "/") + "/jobs?key=" + info.Token)
	open := `form.reply-open input[name=rid][value="` + replyID + `"]`
	p.poll(`!!document.querySelector('` + open + `')`)
	p.axe("jobs page with a reply")
	// The form's POST navigates: the poll waits for the new document's verdict.
	p.click(open + ` ~ button`)
	verdict := p.poll(`(() => { const v = document.getElementById("reply-verdict"); return v ? v.dataset.verdict + "|" + v.textContent : null; })()`)
	if !strings.HasPrefix(verdict, "valid|") || !strings.Contains(verdict, w.officerFPR) || !strings.Contains(verdict, "Cdt Martin") {
		t.Errorf("verdict %q, want the officer's valid signature %s", verdict, w.officerFPR)
	}
	if msg := p.str(`document.getElementById("reply-message").textContent`); !strings.Contains(msg, markers[2]) {
		t.Errorf("message %q", msg)
	}
	p.axe("jobs page, reply opened")
	n, _ := strconv.Atoi(p.str(`document.querySelectorAll("form.reply-file").length`))
	if n != len(files) {
		t.Fatalf("%d file forms, want %d", n, len(files))
	}
	// Every button at once: a form's POST is a navigation until its answer
	// turns out to be a download (the service decrypts the reply first), so
	// the page gives each file's form a frame of its own; in one shared
	// frame the second click would cancel the first download.
	names := make([]string, n+1)
	for i := 1; i <= n; i++ {
		li := `ul.files li:nth-child(` + strconv.Itoa(i) + `)`
		names[i] = p.str(`document.querySelector('` + li + ` span.name')?.textContent || ""`)
		if _, ok := files[names[i]]; !ok {
			t.Fatalf("file form %d is for %q, not one of the files attached", i, names[i])
		}
		p.click(li + ` form.reply-file button`)
	}
	for i := 1; i <= n; i++ {
		path, want := filepath.Join(downloads, names[i]), files[names[i]]
		waitSize(t, path, int64(len(want)))
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("downloaded %s: %d bytes, %v; want the %d bytes attached", names[i], len(got), err, len(want))
		}
	}
	if hits := grepTree(t, w.doctor.home, markers...); len(hits) > 0 {
		t.Fatalf("the reply's plaintext on the doctor's disk: %v", hits)
	}
}
