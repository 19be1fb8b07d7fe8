package jobs

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// TestPINFormKeyboardInChromium: in real Chromium asking for French, the
// PIN form of a job waiting for the card is reached and sent with the
// keyboard only; its field is a labelled password input without
// autocomplete; a wrong PIN shows the card's refusal (one login), the
// right one sends the job.
func TestPINFormKeyboardInChromium(t *testing.T) {
	testutil.NeedIntegration(t)
	exe := testutil.NeedTool(t, "chromium")
	card := &cardSealer{}
	h := newHarness(t, func(o *spooler.Options) { o.Sealer = card })
	id := h.accept("rapport-carte")
	h.waitState(id, spooler.Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"opj@police.example"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, h.sp, id, NeedsPIN)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok", PIN: card}))
	defer srv.Close()

	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless,
		chromedp.DisableGPU, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute) // guards a hung browser only
	defer cancelT()
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	key := func(s string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.KeyEvent(s)); err != nil {
			t.Fatal(err)
		}
	}
	tabTo := func(sel string) {
		t.Helper()
		for i := 0; i < 60; i++ {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.activeElement && document.activeElement.matches(`+strconv.Quote(sel)+`)`))
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return
			}
			key(kb.Tab)
		}
		t.Fatalf("Tab never reaches %s", sel)
	}
	// waitPage waits for the answer page to show sel, across the
	// navigation (an evaluation may fail while the page changes).
	waitPage := func(sel string) {
		t.Helper()
		for ctx.Err() == nil {
			ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.querySelector(`+strconv.Quote(sel)+`)`))
			if ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no %s", sel)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/jobs?key=tok")); err != nil {
		t.Fatal(err)
	}
	waitPage("#pin-input")
	if got := eval(`(() => { const i = document.getElementById("pin-input");
		return [i.type, i.autocomplete, i.labels.length, i.labels[0].textContent, document.getElementById("pin").textContent].join("|") })()`); got != "password|off|1|Code PIN de la carte|PIN de la carte requis" {
		t.Fatalf("PIN field: %q", got)
	}
	tabTo("#pin-input")
	key("0000")
	key(kb.Enter)
	waitPage(".error")
	if e := eval(`document.querySelector(".error").textContent`); !strings.Contains(e, "La carte a refusé le code PIN") || !strings.Contains(e, "CKR_PIN_INCORRECT") {
		t.Fatalf("wrong PIN answer: %q", e)
	}
	if n := card.count(); n != 1 {
		t.Fatalf("%d logins for one wrong PIN", n)
	}
	// The answer page offers the form again; the right PIN sends the job.
	tabTo("#pin-input")
	key("1234")
	key(kb.Enter)
	waitPage(".notice")
	if n := eval(`document.querySelector(".notice").textContent`); !strings.Contains(n, "Code PIN accepté") {
		t.Fatalf("notice %q", n)
	}
	h.waitState(id, spooler.Uploaded)
	if n := card.count(); n != 2 {
		t.Fatalf("%d logins in all", n)
	}
}
