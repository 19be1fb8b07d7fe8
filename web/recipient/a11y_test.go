package recipient_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
)

// a11yState is one state of the page checked with axe-core.
type a11yState struct {
	name   string
	url    func() string
	state  string           // data-state to wait for
	before string           // data-state to wait for before do, if any
	do     func(p a11yPage) // reaches the state after loading, may be nil
}

// a11yPage is what the accessibility test needs of a tab.
type a11yPage interface {
	browserPage
	typeIn(sel, text string)
	axe(state string)
}

// a11yStates builds the page's states on a fake relay: code asked (and a
// wrong code typed), key asked, decrypted, decrypted with each verdict on
// the PDF's own signature, the secure reply's form, sent and failed
// states, a large document waiting for the save click,
// expired, not found, incomplete link.
func a11yStates(t *testing.T, e *browserEnv) []a11yState {
	t.Helper()
	code, _, codeSecret := e.linkDrop(t, "48213907")
	plain, _, plainSecret := e.linkDrop(t, "")
	e.cover = envelope.Cover{Deadline: time.Now().Add(20 * time.Hour), Reference: "PV 2026/001234"}
	covered, _, coveredSecret := e.linkDrop(t, "")
	e.cover = envelope.Cover{}
	replyable, _, replySecret := e.linkDrop(t, "")
	replyable.replyMax, replyable.downloadsMax = 1<<20, 0 // opened by every browser and language
	replyGone, _, replyGoneSecret := e.linkDrop(t, "")
	replyGone.replyMax, replyGone.replyGone, replyGone.downloadsMax = 1<<20, true, 0
	gone, _, goneSecret := e.linkDrop(t, "")
	e.relay.setState(gone.id, "expired")
	s := e.seal(t, samplePDF(1), []*envelope.Key{e.sender}, "")
	keyDrop := e.addDrop(t, s, "key", "")
	big := make([]byte, 33<<20)
	copy(big, "%PDF-1.7\n")
	bigSecret, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	bigSealed := e.seal(t, big, nil, bigSecret)
	bigDrop := e.addDrop(t, bigSealed, "link", "")
	tampered := bigSealed
	tampered.cipher = append([]byte(nil), bigSealed.cipher...)
	tampered.cipher[len(tampered.cipher)/2] ^= 1
	alteredDrop := e.addDrop(t, tampered, "link", "")
	alteredDrop.downloadsMax = 0
	u := func(id, secret string) func() string {
		return func() string { return e.srv.URL + "/d/" + id + "#" + secret }
	}
	// Signed PDFs: the PDF signature's verdicts beside the OpenPGP one.
	pdfSigs, _ := pdfSigSet(t)
	pdfSigState := func(name, verdict string) a11yState {
		for _, c := range pdfSigs {
			if c.name != name {
				continue
			}
			secret, err := envelope.NewLinkSecret()
			if err != nil {
				t.Fatal(err)
			}
			d := e.addDrop(t, e.seal(t, c.pdf, nil, secret), "link", "")
			return a11yState{name: "pdfsig-" + name, url: u(d.id, secret), state: "decrypted", do: func(p a11yPage) {
				p.poll(`document.documentElement.dataset.pdfsig === "` + verdict + `"`)
			}}
		}
		t.Fatalf("no PDF %s", name)
		return a11yState{}
	}
	return []a11yState{
		{name: "code", url: u(code.id, codeSecret), state: "code"},
		{name: "code-wrong", url: u(code.id, codeSecret), state: "code", do: func(p a11yPage) {
			p.typeIn("#code", "11111111")
			p.click("#code-form button[type=submit]")
			p.poll(`document.getElementById("code-error").textContent`)
		}},
		{name: "key", url: u(keyDrop.id, ""), state: "key"},
		{name: "ready", url: u(plain.id, plainSecret), state: "ready"},
		{name: "decrypted", url: u(plain.id, plainSecret), state: "decrypted"},
		{name: "decrypted-cover", url: u(covered.id, coveredSecret), state: "decrypted", do: func(p a11yPage) {
			// axe checks the page with the deadline and reference shown.
			p.poll(`document.documentElement.dataset.cover === "yes" && !document.getElementById("f-deadline").hidden && !document.getElementById("f-reference").hidden`)
		}},
		pdfSigState("valid-bt", "valid"),
		pdfSigState("incremental-update", "modified"),
		pdfSigState("two-signatures", "modified"),
		pdfSigState("garbage-cms", "invalid"),
		pdfSigState("unsigned", "none"),
		{name: "save-large", url: u(bigDrop.id+"?sink=download", bigSecret), state: "save"},
		{name: "altered", url: u(alteredDrop.id+"?sink=download", bigSecret), before: "save", state: "altered", do: func(p a11yPage) {
			p.click("#big-save")
		}},
		{name: "reply-form", url: u(replyable.id, replySecret), state: "decrypted", do: func(p a11yPage) {
			p.poll(`document.documentElement.dataset.reply === "offered"`)
			p.click("#reply-open")
			p.poll(`document.documentElement.dataset.reply === "form"`)
		}},
		{name: "reply-sent", url: u(replyable.id, replySecret), state: "decrypted", do: func(p a11yPage) {
			p.poll(`document.documentElement.dataset.reply === "offered"`)
			p.click("#reply-open")
			p.typeIn("#reply-message", "Bien reçu.")
			p.click("#reply-form button[type=submit]")
			if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "sent" {
				t.Errorf("reply %s: %s", st, p.str(`document.getElementById("reply-status-text").textContent`))
			}
		}},
		{name: "reply-failed", url: u(replyGone.id, replyGoneSecret), state: "decrypted", do: func(p a11yPage) {
			p.poll(`document.documentElement.dataset.reply === "offered"`)
			p.click("#reply-open")
			p.typeIn("#reply-message", "Bien reçu.")
			p.click("#reply-form button[type=submit]")
			p.poll(`document.documentElement.dataset.reply === "failed"`)
		}},
		{name: "expired", url: u(gone.id, goneSecret), state: "expired"},
		{name: "notfound", url: func() string { return e.srv.URL + "/d/AAAAAAAAAAAAAAAAAAAAAA#x" }, state: "error"},
		{name: "nosecret", url: u(plain.id, ""), state: "error"},
	}
}

// TestAccessibility: axe-core's WCAG 2.1 A and AA rules find nothing on any
// state of the page, in French and in English, in Firefox ESR and Chromium.
func TestAccessibility(t *testing.T) {
	e := newBrowserEnv(t)
	ff := startFirefox(t)
	states := a11yStates(t, e)
	axeSrc, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(), "web", "recipient", "browsertest", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core (scripts/test installs it): %v", err)
	}
	// The check can fail: a control without a name is reported.
	t.Run("planted violation is found", func(t *testing.T) {
		for _, p := range []a11yPage{
			func() a11yPage { p := ff.page(t); p.goto_(states[0].url()); return p }(),
			func() a11yPage {
				ctx := e.tab(t)
				if err := chromedp.Do(ctx, chromedp.Navigate(states[0].url())); err != nil {
					t.Fatal(err)
				}
				return &cdpA11yPage{cdpPage: cdpPage{t: t, ctx: ctx}, axeSrc: string(axeSrc)}
			}(),
		} {
			p.waitState("code")
			p.str(`(document.getElementById("code").removeAttribute("id"), "")`)
			ok := false
			switch q := p.(type) {
			case *ffPage:
				var res axeResult
				q.do(&res, "axe")
				ok = len(res.Violations) > 0
			case *cdpA11yPage:
				ok = q.violations() > 0
			}
			if !ok {
				t.Errorf("%T: axe found nothing on an input without a label", p)
			}
		}
	})
	for _, lang := range []string{"fr", "en"} {
		for _, st := range states {
			t.Run("firefox/"+lang+"/"+st.name, func(t *testing.T) {
				p := ff.page(t)
				p.goto_(st.url())
				p.click(`button[data-lang="` + lang + `"]`)
				checkA11yState(t, p, st, lang)
			})
			t.Run("chromium/"+lang+"/"+st.name, func(t *testing.T) {
				ctx := e.tab(t)
				if err := chromedp.Do(ctx, chromedp.Navigate(st.url())); err != nil {
					t.Fatal(err)
				}
				p := &cdpA11yPage{cdpPage: cdpPage{t: t, ctx: ctx}, axeSrc: string(axeSrc)}
				p.click(`button[data-lang="` + lang + `"]`)
				checkA11yState(t, p, st, lang)
				if st.name == "save-large" || st.name == "altered" || st.name == "code-wrong" || strings.HasPrefix(st.name, "reply-") ||
					lang == "fr" && (st.name == "pdfsig-valid-bt" || st.name == "pdfsig-incremental-update") {
					// The phone layout of the newer states (scripts/screenshots).
					shot(t, ctx, st.name+"-"+lang+"-phone", lang, true)
				}
			})
		}
	}
}

func checkA11yState(t *testing.T, p a11yPage, st a11yState, lang string) {
	t.Helper()
	if st.before != "" {
		p.waitState(st.before)
		st.do(p)
		p.waitState(st.state)
	} else {
		p.waitState(st.state)
		if st.do != nil {
			st.do(p)
		}
	}
	if l := p.str(`document.documentElement.lang`); l != lang {
		t.Fatalf("lang %q", l)
	}
	p.axe(st.name + "/" + lang)
}

// cdpA11yPage adds typing and axe-core to a Chromium tab.
type cdpA11yPage struct {
	cdpPage
	axeSrc string
}

func (p *cdpA11yPage) typeIn(sel, text string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		p.t.Fatal(err)
	}
}

// violations returns how many rules axe-core finds violated.
func (p *cdpA11yPage) violations() int {
	p.t.Helper()
	res := p.run()
	return len(res.Violations)
}

func (p *cdpA11yPage) axe(state string) {
	p.t.Helper()
	res := p.run()
	if res.Passes == 0 {
		p.t.Fatalf("chromium axe, state %s: no rule ran", state)
	}
	for _, v := range res.Violations {
		p.t.Errorf("chromium axe, state %s: %s (%s): %s at %s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
	}
}

func (p *cdpA11yPage) run() axeResult {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](p.axeSrc+";true")); err != nil {
		p.t.Fatal(err)
	}
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
		.then(r => JSON.stringify({ passes: r.passes.length, violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5) })) }))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatal(err)
	}
	var res axeResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		p.t.Fatal(err)
	}
	return res
}
