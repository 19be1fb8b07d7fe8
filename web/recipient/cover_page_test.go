package recipient_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
)

// The page's reader of the sender's cover (opener.js parseCover/coverOf)
// refuses, in Chromium, every value docs/cover.md does not allow: the JSON
// comes from the sender and the page shows nothing of a malformed one.
func TestCoverParsingInPage(t *testing.T) {
	e := newBrowserEnv(t)
	d, _, secret := e.linkDrop(t, "")
	ctx := e.tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "ready")
	long := strings.Repeat("é", 101) // 202 bytes of UTF-8: over the 200-byte bound
	cases := map[string]string{
		"good":            `{"v":1,"deadline":"2026-12-02T09:30:00+01:00","reference":"PV 1","later":true}`,
		"reference only":  `{"v":1,"reference":"PV 2026/001234"}`,
		"v2":              `{"v":2,"reference":"PV 1"}`,
		"no v":            `{"reference":"PV 1"}`,
		"array":           `[1]`,
		"null":            `null`,
		"empty":           `{"v":1}`,
		"bad date":        `{"v":1,"deadline":"tomorrow"}`,
		"date no offset":  `{"v":1,"deadline":"2026-12-02T09:30:00"}`,
		"date not string": `{"v":1,"deadline":1764664200}`,
		"ref not string":  `{"v":1,"reference":{"toString":1}}`,
		"ref control":     `{"v":1,"reference":"a\u0007b"}`,
		"ref newline":     `{"v":1,"reference":"a\nb"}`,
		"ref too long":    `{"v":1,"reference":"` + long + `"}`,
		"too large":       `{"v":1,"reference":"PV 1","pad":"` + strings.Repeat("x", 1024) + `"}`,
		"not json":        `{"v":1,`,
	}
	want := map[string]string{
		"good":           `{"deadline":"2026-12-02T08:30:00.000Z","reference":"PV 1"}`,
		"reference only": `{"deadline":null,"reference":"PV 2026/001234"}`,
	}
	in, _ := json.Marshal(cases)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`import("/d/static/opener.js").then((m) => {
		const out = {};
		const enc = new TextEncoder();
		for (const [k, v] of Object.entries(`+string(in)+`)) out[k] = JSON.stringify(m.parseCover(enc.encode(v)));
		out["bad utf-8"] = JSON.stringify(m.parseCover(new Uint8Array([0x7b, 0xff, 0x7d])));
		out["notation"] = JSON.stringify(m.coverOf({ rawNotations: [{ name: "other@example.org", value: enc.encode('{"v":1,"reference":"X"}') },
			{ name: m.COVER_NOTATION, value: enc.encode('{"v":1,"reference":"PV 9"}') }] }));
		out["notation as text"] = JSON.stringify(m.coverOf({ rawNotations: [{ name: m.COVER_NOTATION, value: '{"v":1,"reference":"PV 9"}' }] }));
		out["no notations"] = JSON.stringify(m.coverOf({}));
		return out;
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want["notation"] = `{"deadline":null,"reference":"PV 9"}`
	for k := range cases {
		if _, ok := want[k]; !ok {
			want[k] = "null"
		}
	}
	for _, k := range []string{"bad utf-8", "notation as text", "no notations"} {
		want[k] = "null"
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: parsed %s, want %s", k, got[k], w)
		}
	}
}

// A cover signed by a key other than the sender's is not shown: the page
// refuses the document (no verified signature) and nothing of the cover
// appears.
func TestCoverFromUnverifiedSignatureIgnored(t *testing.T) {
	e := newBrowserEnv(t)
	forger, err := envelope.GenerateKey("Dr Claire Martin", "claire.martin@chu-lyon.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, secret)
	trueSender := e.sender
	e.sender, e.cover = forger, envelope.Cover{Deadline: time.Now().Add(5 * time.Hour), Reference: "PV FORGED-42"}
	s := e.seal(t, samplePDF(1), nil, secret)
	e.sender, e.cover = trueSender, envelope.Cover{}
	d := e.addDrop(t, s, "link", "") // the relay names the real sender's key
	ctx := e.tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "ready")
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`button[data-lang=fr]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`#open-btn`))); err != nil {
		t.Fatal(err)
	}
	if st := waitState(t, ctx, "error", "decrypted"); st != "error" {
		t.Fatalf("state %q for a document signed by another key", st)
	}
	reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.reason`))
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("f-deadline").hidden || !document.getElementById("f-reference").hidden`))
	if reason != "badsig" || shown || strings.Contains(text, "FORGED") || strings.Contains(text, "Échéance") {
		t.Fatalf("reason %q, cover rows shown %v:\n%s", reason, shown, text)
	}
}
