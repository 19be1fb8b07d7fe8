package spooler_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// newChromium starts a headless Chromium that asks for French pages.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	exe := testutil.NeedTool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless,
		chromedp.DisableGPU, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "fr-FR,fr;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// tabTo presses Tab until the focused element matches sel: the page is
// driven with the keyboard only.
func tabTo(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	for i := 0; i < 120; i++ {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.activeElement && document.activeElement.matches(`+strconv.Quote(sel)+`)`))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("Tab never reaches %s", sel)
}

func keys(t *testing.T, ctx context.Context, s string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(s)); err != nil {
		t.Fatal(err)
	}
}

func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// TestSenderDeskInChromium is the sender's desk end to end, in real
// Chromium asking for French: a job printed through a real CUPS queue to
// "Sealed print" is previewed, released in link mode with an access code
// and a custody deadline with the keyboard only, opened by the recipient
// in a second Chromium with the code, and its recipient's status on the
// page becomes "ouvert".
func TestSenderDeskInChromium(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "lpadmin")
	testutil.NeedTool(t, "lp")
	w := newWorld(t, "--poll", "300ms")
	w.startServe()
	c := testutil.StartCupsd(t)
	c.AddEverywhere(t, "Sealed_print", "ipp://"+w.addr+"/ipp/print/sealed", "-D", "Sealed print")
	docs := filepath.Join(t.TempDir(), "docs")
	os.MkdirAll(docs, 0o755)
	os.Chmod(filepath.Dir(docs), 0o755)
	os.WriteFile(filepath.Join(docs, "rapport.pdf"), makePDF("Rapport medico-legal GAV"), 0o644)
	if _, err := c.Output(t, "lp", "-d", "Sealed_print", "-o", "document-format=application/pdf", "-t", "rapport.pdf", filepath.Join(docs, "rapport.pdf")); err != nil {
		t.Fatal(err)
	}
	h := w.waitJob("rapport.pdf", spooler.Held)

	ctx := newChromium(t)
	page := "http://" + w.addr + "/jobs"
	// The page needs the user's secret, as 'sealprint jobs --open' gives
	// it: the first visit turns ?key= into a cookie.
	secret, err := os.ReadFile(filepath.Join(w.sender, "jobs-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page+"?key="+strings.TrimSpace(string(secret))), chromedp.WaitVisible(chromedp.CSS(`iframe`))); err != nil {
		t.Fatal(err)
	}
	if lang := evalString(t, ctx, `document.documentElement.lang`); lang != "fr" {
		t.Fatalf("page language %q", lang)
	}
	if body := evalString(t, ctx, `document.body.innerText`); !strings.Contains(body, "En attente de destinataires") || !strings.Contains(body, "Sceller et envoyer") {
		t.Fatalf("page:\n%s", body)
	}
	// The preview: the page's viewer gets the PDF from the spool.
	src := evalString(t, ctx, `document.querySelector("iframe").getAttribute("src")`)
	if !strings.Contains(src, "/jobs/preview/"+h.ID) {
		t.Fatalf("viewer src %q", src)
	}
	// The page's CSP forbids scripts to fetch it: open it as the viewer
	// does, in Chromium's PDF viewer.
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+w.addr+src)); err != nil {
		t.Fatal(err)
	}
	if ct := evalString(t, ctx, `document.contentType`); ct != "application/pdf" {
		t.Fatalf("preview opened as %q", ct)
	}
	time.Sleep(time.Second) // lets the viewer draw page 1 for the screenshot only
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
		os.WriteFile(filepath.Join(testutil.ScreenshotDir(t), "jobs-preview-fr.png"), png, 0o644)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`iframe`))); err != nil {
		t.Fatal(err)
	}
	if sum := evalString(t, ctx, `document.querySelector(".sum").textContent`); len(sum) != 64 {
		t.Fatalf("SHA-256 shown %q", sum)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
		os.WriteFile(filepath.Join(testutil.ScreenshotDir(t), "jobs-held-fr.png"), png, 0o644)
	}

	// Chromium's PDF viewer takes the focus once it has loaded the
	// preview: wait for that before typing (a person would see it).
	fctx, cancelF := context.WithTimeout(ctx, 15*time.Second)
	chromedp.Run(fctx, chromedp.Poll[bool](`document.activeElement && document.activeElement.tagName === "IFRAME"`))
	cancelF()
	// Release, keyboard only: address, link mode, code (checked by
	// default), deadline, reference, then Enter on the button.
	tabTo(t, ctx, `input[name=other]`)
	keys(t, ctx, "opj@police.example")
	if v := evalString(t, ctx, `document.activeElement.value`); v != "opj@police.example" {
		t.Fatalf("typed %q", v)
	}
	tabTo(t, ctx, `input[name=mode]`)
	keys(t, ctx, kb.ArrowDown)
	if mode := evalString(t, ctx, `document.querySelector("input[name=mode]:checked").value`); mode != "link" {
		t.Fatalf("mode %q", mode)
	}
	// A datetime-local field, whatever the browser's date order: Up fills
	// each empty part with today's value, Right moves to the next part;
	// then Up on the last part moves it on (the deadline is in the future).
	tabTo(t, ctx, `input[name=deadline]`)
	for i := 0; i < 6; i++ {
		keys(t, ctx, kb.ArrowUp)
		keys(t, ctx, kb.ArrowRight)
	}
	if v := evalString(t, ctx, `document.querySelector("input[name=deadline]").value`); v == "" {
		t.Fatal("the deadline could not be typed")
	}
	tabTo(t, ctx, `input[name=reference]`)
	keys(t, ctx, "PV 2026/001234")
	tabTo(t, ctx, `button[form="release-`+h.ID+`"]`)
	keys(t, ctx, kb.Enter)
	// The answer is a new page: poll across the navigation.
	answered := false
	for i := 0; i < 300 && !answered; i++ {
		answered, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.querySelector("#access-code, .error")`))
		if !answered {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !answered {
		t.Fatalf("no answer to the release; page:\n%s", evalString(t, ctx, `document.body.innerText`))
	}
	if e := evalString(t, ctx, `(document.querySelector(".error") || {textContent: ""}).textContent`); e != "" {
		t.Fatalf("release refused: %s (deadline %q)", e, evalString(t, ctx, `location.href`))
	}
	code := strings.TrimSpace(evalString(t, ctx, `document.getElementById("access-code").textContent`))
	if len(code) != 8 {
		t.Fatalf("access code %q", code)
	}
	w.waitJob("rapport.pdf", spooler.Uploaded)

	// The page gives the full link to pass on, never the code again.
	var link string
	for i := 0; i < 100 && link == ""; i++ {
		chromedp.Do(ctx, chromedp.Navigate(page))
		link = evalString(t, ctx, `(document.querySelector("a.link[href*='#']") || {href: ""}).href`)
		if link == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !strings.Contains(link, "/d/") || !strings.Contains(link, "#") {
		t.Fatalf("no link on the page")
	}
	if body := evalString(t, ctx, `document.body.innerText`); strings.Contains(body, code) || !strings.Contains(body, "PV 2026/001234") {
		t.Fatalf("page after release:\n%s", body)
	}

	// The recipient, in a second Chromium, opens it with the code.
	rctx := newChromium(t)
	if err := chromedp.Do(rctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(rctx, chromedp.Poll[string](`["code","decrypted","error"].includes(document.documentElement.dataset.state) ? document.documentElement.dataset.state : null`)); err != nil {
		t.Fatal(err)
	}
	tabTo(t, rctx, `#code`)
	keys(t, rctx, code)
	keys(t, rctx, kb.Enter)
	st, err := chromedp.Run(rctx, chromedp.Poll[string](`["decrypted","error","locked"].includes(document.documentElement.dataset.state) ? document.documentElement.dataset.state : null`))
	if err != nil || st != "decrypted" {
		t.Fatalf("recipient page state %q: %v", st, err)
	}
	if _, err := chromedp.Run(rctx, chromedp.Poll[string](`document.documentElement.dataset.receipt`)); err != nil {
		t.Fatal(err)
	}

	// The sender's page: the recipient's status is "ouvert".
	var status string
	for i := 0; i < 200; i++ {
		chromedp.Do(ctx, chromedp.Navigate(page))
		status = evalString(t, ctx, `(document.querySelector(".d-opened") || {textContent: ""}).textContent`)
		if status != "" {
			break
		}
		time.Sleep(150 * time.Millisecond)
	}
	if status != "ouvert" {
		t.Fatalf("recipient status %q, want ouvert:\n%s", status, evalString(t, ctx, `document.body.innerText`))
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
		os.WriteFile(filepath.Join(testutil.ScreenshotDir(t), "jobs-opened-fr.png"), png, 0o644)
	}
}
