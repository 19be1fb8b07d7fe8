package recipient_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/web/jobs"
)

// jobsPageReply opens the reply replyID on the doctor's jobs page (served
// by the real 'sealprint serve') in the Chromium tab ctx: the page's
// "Open" form shows the officer's valid signature, the message and each
// file, which its own download form hands out byte for byte; the service
// wrote none of it to the doctor's disk.
func jobsPageReply(t *testing.T, w *replyWorld, ctx context.Context, replyID string, files map[string][]byte, markers []string) {
	t.Helper()
	info, err := jobs.ReadServiceInfo(filepath.Join(w.doctor.home, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(info.URL, "/")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/jobs?key="+info.Token)); err != nil {
		t.Fatal(err)
	}
	open := `form.reply-open input[name=rid][value="` + replyID + `"]`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector('`+open+`')`, chromedp.WithPollingTimeout(stateWait))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the jobs page offers no form to open reply %s: %v\n%s", replyID, err, html)
	}
	axeSrc, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(), "web", "recipient", "browsertest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	a11y := &cdpA11yPage{cdpPage: cdpPage{t: t, ctx: ctx}, axeSrc: string(axeSrc)}
	a11y.axe("jobs page with a reply")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(open+` ~ button`))); err != nil {
		t.Fatal(err)
	}
	// The form's POST navigates: wait for the new document's verdict.
	wctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitReady(chromedp.CSS(`#reply-verdict`))); err != nil {
		t.Fatalf("no reply page: %v", err)
	}
	verdict, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const v = document.getElementById("reply-verdict"); return v ? v.dataset.verdict + "|" + v.textContent : null; })()`,
		chromedp.WithPollingTimeout(stateWait)))
	if err != nil {
		t.Fatalf("no reply page: %v", err)
	}
	if !strings.HasPrefix(verdict, "valid|") || !strings.Contains(verdict, w.officerFPR) || !strings.Contains(verdict, "Cdt Martin") {
		t.Errorf("verdict %q, want the officer's valid signature %s", verdict, w.officerFPR)
	}
	if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("reply-message").textContent`)); !strings.Contains(msg, markers[2]) {
		t.Errorf("message %q", msg)
	}
	a11y.axe("jobs page, reply opened")
	// Each file through its own button (a POST form: same origin, CSRF
	// token), saved by the browser as a download.
	dir := t.TempDir()
	c := chromedp.FromContext(ctx)
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, BrowserContextID: c.BrowserContextID}); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form.reply-file").length`))
	if err != nil || n != len(files) {
		t.Fatalf("%d file forms, want %d (%v)", n, len(files), err)
	}
	// Every button at once: a form's POST is a navigation until its answer
	// turns out to be a download (the service decrypts the reply first), so
	// the page gives each file's form a frame of its own; in one shared
	// frame the second click would cancel the first download.
	want := make([][]byte, n+1)
	names := make([]string, n+1)
	for i := 1; i <= n; i++ {
		li := `ul.files li:nth-child(` + strconv.Itoa(i) + `)`
		name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+li+` span.name')?.textContent || ""`))
		if err != nil {
			t.Fatal(err)
		}
		data, ok := files[name]
		if !ok {
			t.Fatalf("file form %d is for %q, not one of the files attached", i, name)
		}
		names[i], want[i] = name, data
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(li+` form.reply-file button`))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		waitSize(t, filepath.Join(dir, names[i]), int64(len(want[i])))
		if got, err := os.ReadFile(filepath.Join(dir, names[i])); err != nil || !bytes.Equal(got, want[i]) {
			t.Errorf("downloaded %s: %d bytes, %v; want the %d bytes attached", names[i], len(got), err, len(want[i]))
		}
	}
	if hits := grepTree(t, w.doctor.home, markers...); len(hits) > 0 {
		t.Fatalf("the reply's plaintext on the doctor's disk: %v", hits)
	}
}

// jobsPageReplyFirefox is jobsPageReply in Firefox ESR (a doctor's PC may
// run either browser): the reply opened on the jobs page with the
// officer's valid signature, every file's button clicked at once and each
// file downloaded byte for byte into Firefox's download directory, axe-core
// clean on both pages.
func jobsPageReplyFirefox(t *testing.T, w *replyWorld, ff *firefox, replyID string, files map[string][]byte, markers []string) {
	t.Helper()
	info, err := jobs.ReadServiceInfo(filepath.Join(w.doctor.home, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	p := ff.page(t)
	p.goto_(strings.TrimSuffix(info.URL, "/") + "/jobs?key=" + info.Token)
	open := `form.reply-open input[name=rid][value="` + replyID + `"]`
	p.poll(`!!document.querySelector('` + open + `')`)
	p.axe("jobs page with a reply")
	p.click(open + ` ~ button`)
	verdict := p.poll(`(() => { const v = document.getElementById("reply-verdict"); return v ? v.dataset.verdict + "|" + v.textContent : null; })()`)
	if !strings.HasPrefix(verdict, "valid|") || !strings.Contains(verdict, w.officerFPR) {
		t.Errorf("firefox: verdict %q, want the officer's valid signature %s", verdict, w.officerFPR)
	}
	if msg := p.str(`document.getElementById("reply-message").textContent`); !strings.Contains(msg, markers[2]) {
		t.Errorf("firefox: message %q", msg)
	}
	p.axe("jobs page, reply opened")
	n, _ := strconv.Atoi(p.str(`document.querySelectorAll("form.reply-file").length`))
	if n != len(files) {
		t.Fatalf("firefox: %d file forms, want %d", n, len(files))
	}
	names := make([]string, n+1)
	for i := 1; i <= n; i++ {
		li := `ul.files li:nth-child(` + strconv.Itoa(i) + `)`
		names[i] = p.str(`document.querySelector('` + li + ` span.name').textContent`)
		if _, ok := files[names[i]]; !ok {
			t.Fatalf("firefox: file form %d is for %q, not one of the files attached", i, names[i])
		}
		p.click(li + ` form.reply-file button`)
	}
	for i := 1; i <= n; i++ {
		path := filepath.Join(ff.DownloadDir, names[i])
		waitSize(t, path, int64(len(files[names[i]])))
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, files[names[i]]) {
			t.Errorf("firefox: downloaded %s: %d bytes, %v; want the %d bytes attached", names[i], len(got), err, len(files[names[i]]))
		}
	}
}
