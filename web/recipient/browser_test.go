package recipient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/web/recipient"
)

// browserEnv is a page server with a fake relay behind an access-log
// recorder, and one headless Chromium.
type browserEnv struct {
	srv     *httptest.Server
	relay   *fakeRelay
	rec     *recorder
	browser context.Context
	sender  *envelope.Key
	secrets []string       // every link secret used, none may reach the server
	cover   envelope.Cover // sealed into every document while set
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	testutil.NeedIntegration(t)
	exe := testutil.NeedTool(t, "chromium")
	e := &browserEnv{relay: newFakeRelay()}
	mux := http.NewServeMux()
	mux.Handle("/d/", recipient.NewHandler(recipient.Options{TestHooks: true}))
	mux.Handle("/api/v1/drops/", e.relay)
	mux.Handle("/api/v1/uploads/", fakeTus{e.relay})
	e.rec = &recorder{next: mux}
	e.srv = httptest.NewServer(e.rec)
	t.Cleanup(e.srv.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	if smallDevShm() {
		// As Debian's chromium launcher does where /dev/shm is small (a
		// container): shared memory in /tmp files. Not otherwise: with
		// it, every buffer Chromium shares between its processes (fetched
		// bytes, blobs, file writes) goes through a file on disk, which a
		// person's browser does not do.
		opts = append(opts, chromedp.Flag("disable-dev-shm-usage", true))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	e.browser = bctx

	k, err := envelope.GenerateKey("Dr Claire Martin", "claire.martin@chu-lyon.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.sender = k
	return e
}

// smallDevShm reports whether /dev/shm has less room than Debian's
// chromium launcher wants for it (3.8 GB), or is missing.
func smallDevShm() bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil {
		return true
	}
	return st.Bavail*uint64(st.Bsize) < 3800<<20
}

// tab opens a fresh browser context (own storage), logging the page's
// console and exceptions into the test log.
func (e *browserEnv) tab(t *testing.T) context.Context {
	t.Helper()
	var done atomic.Bool
	listener := func(ev any) {
		if done.Load() {
			return
		}
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			t.Logf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			t.Logf("page exception: %s (%s:%d)", desc, d.URL, d.LineNumber)
		}
	}
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(listener))
	t.Cleanup(cancel)
	// A bound on the tab's whole life, so a stuck test ends; each wait has
	// its own (stateWait).
	ctx, cancelT := context.WithTimeout(ctx, 15*time.Minute)
	t.Cleanup(cancelT)
	t.Cleanup(func() { done.Store(true) })
	return ctx
}

// sealed is a drop's ciphertext with what the test needs to check it.
type sealed struct {
	plain, cipher, sessionKey []byte
}

func (e *browserEnv) seal(t *testing.T, plain []byte, recipients []*envelope.Key, secret string) sealed {
	t.Helper()
	var ct bytes.Buffer
	w, err := envelope.Seal(&ct, envelope.SealOptions{
		Signer: e.sender, Recipients: recipients, Secret: secret,
		FileName: "rapport-medico-legal-2026-1142.pdf", ModTime: time.Now(), Cover: e.cover,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return sealed{plain: plain, cipher: ct.Bytes(), sessionKey: w.SessionKey()}
}

func (e *browserEnv) addDrop(t *testing.T, s sealed, mode, code string) *fakeDrop {
	t.Helper()
	var pub bytes.Buffer
	if err := e.sender.WritePublic(&pub, true); err != nil {
		t.Fatal(err)
	}
	return e.relay.add(&fakeDrop{
		mode: mode, ciphertext: s.cipher, code: code, downloadsMax: 5,
		sender: "CHU de Lyon — UMJ", senderKey: pub.String(), senderFpr: e.sender.Fingerprint(),
	})
}

func (e *browserEnv) linkDrop(t *testing.T, code string) (*fakeDrop, sealed, string) {
	t.Helper()
	secret, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, secret)
	s := e.seal(t, samplePDF(3), nil, secret)
	return e.addDrop(t, s, "link", code), s, secret
}

// stateIs waits until the page's data-state is one of states and returns it.
//
// It is event-based: the predicate runs again on each DOM mutation (the page
// sets data-state on <html>), not on animation frames, which a headless tab
// busy decrypting delays. It has no timeout of its own (chromedp's default
// is 30 s, too short for a large document on a loaded machine): the caller's
// context bounds it; stateWait is the bound waitState gives it.
func stateIs(states ...string) chromedp.Action[string] {
	list := `["` + strings.Join(states, `","`) + `"]`
	return chromedp.Poll[string](`(s => `+list+`.includes(s) ? s : null)(document.documentElement.dataset.state)`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0))
}

// stateWait bounds one wait for a page state: generous, because reaching
// "altered" or "decrypted" for a large document means downloading and
// decrypting all of it (the MDC and the signature come at the end).
const stateWait = 5 * time.Minute

// runState runs stateIs within stateWait.
func runState(ctx context.Context, states ...string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	got, err := retryTransient(wctx, func() (string, error) { return chromedp.Run(wctx, stateIs(states...)) })
	if err != nil && ctx.Err() == nil {
		// Where the page stood: its state, its steps so far, what it shows.
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		where, _ := chromedp.Run(dctx, chromedp.Evaluate[string](pageWhere))
		err = fmt.Errorf("%w; the page: %s", err, where)
	}
	return got, err
}

// retryTransient runs a poll of the page and runs it again while it fails
// for want of a document: its promise lives in the page's current one, and
// a document replaced under it (a navigation; or its promise collected)
// is asked again, within ctx.
func retryTransient(ctx context.Context, poll func() (string, error)) (string, error) {
	got, err := poll()
	for err != nil && ctx.Err() == nil && transientEval(err) {
		time.Sleep(100 * time.Millisecond)
		got, err = poll()
	}
	return got, err
}

// transientEval reports a CDP evaluation lost with the document it ran
// in, not an answer about the page.
func transientEval(err error) bool {
	m := err.Error()
	return strings.Contains(m, "Promise was collected") || strings.Contains(m, "Execution context was destroyed") ||
		strings.Contains(m, "Cannot find context with specified id") || strings.Contains(m, "Inspected target navigated or closed")
}

// pageWhere is a page's state for a failing test's log: its data
// attributes, the steps it marked and the status it shows.
const pageWhere = `JSON.stringify({
	data: Object.assign({}, document.documentElement.dataset),
	marks: performance.getEntriesByType("mark").map((m) => m.name + "@" + Math.round(m.startTime)),
	status: (document.getElementById("status-text") || {}).textContent || "",
	progress: (document.getElementById("progress") || {}).value,
})`

// waitState waits for one of states (or an end state). A page waiting
// for "Open the document" (ready) is clicked through, as a person would,
// unless ready is among states.
func waitState(t *testing.T, ctx context.Context, states ...string) string {
	t.Helper()
	all := append([]string{"decrypted", "error", "locked", "expired", "ready"}, states...)
	got, err := runState(ctx, all...)
	if err != nil {
		t.Fatalf("waiting for state %v: %v", states, err)
	}
	if got == "ready" && !slices.Contains(states, "ready") {
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`#open-btn`))); err != nil {
			t.Fatalf("click Open the document: %v", err)
		}
		if got, err = runState(ctx, append([]string{"decrypted", "error", "locked", "expired"}, states...)...); err != nil {
			t.Fatalf("waiting for state %v: %v", states, err)
		}
	}
	for _, s := range states {
		if got == s {
			return got
		}
	}
	reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.reason || ""`))
	t.Fatalf("page state %q (reason %q), want one of %v", got, reason, states)
	return ""
}

// checkDecrypted compares the page's decrypted bytes and fingerprint with
// the original, and waits for the receipt.
func checkDecrypted(t *testing.T, ctx context.Context, d *fakeDrop, s sealed) {
	t.Helper()
	waitState(t, ctx, "decrypted")
	sha, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.sha256`))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(s.plain)
	if sha != hex.EncodeToString(want[:]) {
		t.Errorf("data-sha256 = %s, want %x", sha, want)
	}
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.sealprintTest.base64()`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.Equal(got, s.plain) {
		t.Fatalf("decrypted bytes differ from the original (%d vs %d bytes, %v)", len(got), len(s.plain), err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[string](`document.documentElement.dataset.receipt`)); err != nil {
		t.Fatal(err)
	}
	r, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.receipt`))
	if r != "sent" {
		t.Fatalf("receipt %q", r)
	}
	cs := sha256.Sum256(s.cipher)
	proof := envelope.ReceiptProof(s.sessionKey, hex.EncodeToString(cs[:]))
	if rs := d.relay.receiptsOf(d.id); len(rs) == 0 || rs[len(rs)-1] != proof {
		t.Fatalf("receipt proofs %v, want %s", rs, proof)
	}
	pages, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#f-pages dd`)))
	if pages != "3" {
		t.Errorf("pages shown %q, want 3", pages)
	}
}

func TestBrowser(t *testing.T) {
	e := newBrowserEnv(t)

	t.Run("link", func(t *testing.T) {
		d, s, secret := e.linkDrop(t, "")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
			t.Fatal(err)
		}
		checkDecrypted(t, ctx, d, s)
		e.screenshots(t, ctx)
	})

	t.Run("a link of its own among three", func(t *testing.T) {
		// One document, one SKESK per recipient's secret: the second
		// recipient's link opens it, and the receipt's link proof is keyed
		// from that secret, so the sender knows whose link it was.
		secrets := make([]string, 3)
		for i := range secrets {
			secrets[i], _ = envelope.NewLinkSecret()
		}
		e.secrets = append(e.secrets, secrets...)
		var ct bytes.Buffer
		w, err := envelope.Seal(&ct, envelope.SealOptions{Signer: e.sender, Secrets: secrets,
			FileName: "rapport-medico-legal-2026-1142.pdf", ModTime: time.Now(), Cover: e.cover})
		if err != nil {
			t.Fatal(err)
		}
		plain := samplePDF(3)
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		s := sealed{plain: plain, cipher: ct.Bytes(), sessionKey: w.SessionKey()}
		d := e.addDrop(t, s, "link", "")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secrets[1])); err != nil {
			t.Fatal(err)
		}
		checkDecrypted(t, ctx, d, s)
		cs := sha256.Sum256(s.cipher)
		lp := e.relay.linkProofsOf(d.id)
		if len(lp) != 1 || !envelope.CheckLinkReceipt(secrets[1], hex.EncodeToString(cs[:]), lp[0]) {
			t.Fatalf("link proofs %v, want one keyed from the second secret", lp)
		}
		for _, other := range []string{secrets[0], secrets[2]} {
			if envelope.CheckLinkReceipt(other, hex.EncodeToString(cs[:]), lp[0]) {
				t.Fatal("the link proof checks against another recipient's secret")
			}
		}
	})

	t.Run("link with access code", func(t *testing.T) {
		d, s, secret := e.linkDrop(t, "48213907")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "code")
		shot(t, ctx, "code-en-desktop", "en", false)
		typeCode(t, ctx, "11111111")
		if _, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("code-error").textContent`)); err != nil {
			t.Fatal(err)
		}
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#code-error`)))
		if !strings.Contains(msg, "4") {
			t.Errorf("wrong-code message %q does not say 4 attempts are left", msg)
		}
		typeCode(t, ctx, "48213907")
		checkDecrypted(t, ctx, d, s)
	})

	t.Run("five wrong codes lock the drop", func(t *testing.T) {
		d, _, secret := e.linkDrop(t, "48213907")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "code")
		for i := 1; i <= 5; i++ {
			typeCode(t, ctx, "0000000"+string(rune('0'+i)))
			if i < 5 {
				want := []string{"", "4", "3", "2", "1"}[i]
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("code-error").textContent.includes("`+want+`") || document.getElementById("code-error").textContent.includes("ast")`)); err != nil {
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
		}
		waitState(t, ctx, "locked")
		if st := e.relay.stateOf(d.id); st != "locked" {
			t.Fatalf("relay drop state %q, want locked", st)
		}
		// A later visit shows the locked explanation at once.
		ctx2 := e.tab(t)
		if err := chromedp.Do(ctx2, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx2, "locked")
		shot(t, ctx2, "locked-fr-phone", "fr", true)
	})

	t.Run("a document passed on to a third key says so", func(t *testing.T) {
		bob, err := envelope.GenerateKey("Cdt Bob", "bob@police.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		me, err := envelope.GenerateKey("Lt Eve", "eve@police.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		var bobSec, mePub, meSec bytes.Buffer
		bob.WriteSecret(&bobSec, true, nil)
		me.WritePublic(&mePub, true)
		me.WriteSecret(&meSec, true, []byte("correct horse battery"))
		keyFile := filepath.Join(t.TempDir(), "eve-secret.asc")
		os.WriteFile(keyFile, meSec.Bytes(), 0o600)
		s := e.seal(t, samplePDF(1), []*envelope.Key{bob.Public()}, "")
		passed, err := testutil.Reencrypt(s.cipher, bobSec.Bytes(), mePub.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		s.cipher = passed
		d := e.addDrop(t, s, "key", "")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		err = chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{keyFile}),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "decrypted")
		addressed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.addressed`))
		notice, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("not-for-you").hidden ? "" : document.getElementById("not-for-you").textContent`))
		want := bob.Fingerprint()[:4] + " " + bob.Fingerprint()[4:8]
		if addressed != "others" || !strings.Contains(notice, "not to you") || !strings.Contains(notice, want) {
			t.Fatalf("passed-on document: addressed %q, notice %q (want %s)", addressed, notice, want)
		}
	})

	t.Run("key mode with an imported key", func(t *testing.T) {
		me, err := envelope.GenerateKey("Cdt Martin", "cdt.martin@police.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "cdt-martin-secret.asc")
		var sk bytes.Buffer
		if err := me.WriteSecret(&sk, true, []byte("correct horse battery")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, sk.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		s := e.seal(t, samplePDF(3), []*envelope.Key{me.Public()}, "")
		d := e.addDrop(t, s, "key", "")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		shot(t, ctx, "key-fr-desktop", "fr", false)
		err = chromedp.Do(ctx,
			chromedp.EmulateViewport(1280, 900),
			chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{keyFile}),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "wrong passphrase"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("key-error").textContent`)); err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			clearInput(`#import-pass`),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		checkDecrypted(t, ctx, d, s)

		// The key was remembered (passphrase-protected) in IndexedDB: a reload
		// offers it and the passphrase unlocks it.
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		err = chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.CSS(`#unlock-form`)),
			chromedp.SendKeys(chromedp.CSS(`#unlock-pass`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#unlock-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		checkDecrypted(t, ctx, d, s)
		stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((ok, ko) => {
			const r = indexedDB.open("sealprint");
			r.onsuccess = () => { const q = r.result.transaction("keys").objectStore("keys").getAll(); q.onsuccess = () => ok(JSON.stringify(q.result)); q.onerror = ko; };
			r.onerror = ko; })`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stored, me.Fingerprint()) || !strings.Contains(stored, "PRIVATE KEY") {
			t.Fatalf("stored keys %.200s", stored)
		}
	})

	t.Run("key mode with an unprotected key file", func(t *testing.T) {
		me, err := envelope.GenerateKey("Brigadier Roux", "b.roux@police.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "roux.asc")
		var sk bytes.Buffer
		if err := me.WriteSecret(&sk, true, nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keyFile, sk.Bytes(), 0o600)
		s := e.seal(t, samplePDF(3), []*envelope.Key{me.Public()}, "")
		d := e.addDrop(t, s, "key", "")
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		// A key without passphrase must get one before it is kept.
		err = chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{keyFile}),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "short"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("key-error").textContent`)); err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			clearInput(`#import-pass`),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "now a long passphrase"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		checkDecrypted(t, ctx, d, s)
		armored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise((ok, ko) => {
			const r = indexedDB.open("sealprint");
			r.onsuccess = () => { const q = r.result.transaction("keys").objectStore("keys").getAll(); q.onsuccess = () => ok(q.result[0].armored); q.onerror = ko; };
			r.onerror = ko; })`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := envelope.ReadKeys(strings.NewReader(armored))
		if err != nil || len(keys) != 1 || !keys[0].IsSecret() || !keys[0].IsLocked() {
			t.Fatalf("stored key is not passphrase-protected (%v)", err)
		}
		if err := keys[0].Unlock([]byte("now a long passphrase")); err != nil {
			t.Fatalf("stored key does not open with the chosen passphrase: %v", err)
		}
	})

	t.Run("explanations", func(t *testing.T) {
		for _, tc := range []struct {
			state, page, reason string
		}{
			{"expired", "expired", "expired"},
			{"revoked", "expired", "revoked"},
			{"exhausted", "expired", "exhausted"},
			{"missing", "error", "notfound"},
			{"nosecret", "error", "nosecret"},
		} {
			d, _, _ := e.linkDrop(t, "")
			id := d.id
			switch tc.state {
			case "missing":
				id = randomID(16)
			case "nosecret":
			default:
				e.relay.setState(d.id, tc.state)
			}
			ctx := e.tab(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+id)); err != nil {
				t.Fatal(err)
			}
			waitState(t, ctx, tc.page)
			reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.reason`))
			what, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#problem-what`)))
			if reason != tc.reason || what == "" {
				t.Errorf("%s: reason %q, advice %q", tc.state, reason, what)
			}
		}
	})

	t.Run("secret never sent", func(t *testing.T) {
		log := e.rec.String()
		if len(e.secrets) == 0 || !strings.Contains(log, "/blob") {
			t.Fatal("no traffic recorded")
		}
		for _, s := range e.secrets {
			if strings.Contains(log, s) {
				t.Fatalf("link secret %s… found in the server's request log", s[:6])
			}
		}
		if strings.Contains(log, "Referer:") {
			t.Error("the browser sent a Referer header")
		}
	})
}

func typeCode(t *testing.T, ctx context.Context, code string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.WaitEnabled(chromedp.CSS(`#code-form button[type=submit]`)),
		clearInput(`#code`),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#code-form button[type=submit]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// clearInput empties a form field.
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`void (document.querySelector(` + strconv.Quote(sel) + `).value = "")`)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
