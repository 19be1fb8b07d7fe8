package recipient_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/web/recipient"
)

// TestKeyboardPath: in Firefox ESR, a link drop with an access code is
// opened with the keyboard alone (the page puts the focus on the code
// field, Enter submits), then Tab reaches every control of the decrypted
// page, each with a visible focus indicator, down to "Save".
func TestKeyboardPath(t *testing.T) {
	ff := startFirefox(t)
	srv, relay := pageServer(t)
	sender, err := envelope.GenerateKey("Dr Claire Martin", "claire.martin@chu-lyon.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &browserEnv{relay: relay, sender: sender}
	d, _, secret := e.linkDrop(t, "48213907")
	p := ff.page(t)
	p.goto_(srv.URL + "/d/" + d.id + "#" + secret)
	p.waitState("code")
	if id := p.str(`document.activeElement.id`); id != "code" {
		t.Fatalf("focus on %q when the code is asked, want the code field", id)
	}
	p.do(nil, "keys", "text", "48213907")
	p.press("Enter")
	p.waitState("decrypted")
	// From the top of the page (the skip link), Tab walks the language
	// switch, then the document's controls down to "Save", which comes
	// before the PDF viewer (a viewer, once entered, keeps Tab for its own
	// toolbar: docs/accessibility.md).
	p.str(`(document.querySelector(".skip").focus(), "")`)
	seen := map[string]bool{}
	for i := 0; i < 150 && !(seen["save"] && seen["fr"] && seen["en"]); i++ {
		p.press("Tab")
		id := p.str(`(document.activeElement.id || document.activeElement.dataset.lang || document.activeElement.tagName)`)
		if id == "BODY" {
			continue
		}
		seen[id] = true
		// A visible indicator: an outline or a box shadow while focused.
		style := p.str(`(s => s.outlineStyle + " " + s.outlineWidth + " | " + s.boxShadow)(getComputedStyle(document.activeElement))`)
		if strings.HasPrefix(style, "none") && strings.HasSuffix(style, "| none") {
			t.Errorf("focused %s shows no focus indicator (%s)", id, style)
		}
	}
	for _, want := range []string{"fr", "en", "save"} {
		if !seen[want] {
			t.Errorf("Tab never reached %q (reached %v)", want, seen)
		}
	}
}

// pageServer is the page with a fake relay, no browser.
func pageServer(t *testing.T) (*httptest.Server, *fakeRelay) {
	t.Helper()
	f := newFakeRelay()
	mux := http.NewServeMux()
	mux.Handle("/d/", recipient.NewHandler(recipient.Options{TestHooks: true}))
	mux.Handle("/api/v1/drops/", f)
	mux.Handle("/api/v1/uploads/", fakeTus{f})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, f
}
