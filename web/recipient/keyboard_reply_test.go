package recipient_test

import (
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
)

// TestKeyboardReply: in Firefox ESR, the secure reply is reached, filled
// and sent with the keyboard alone: Tab reaches "Reply securely" (with a
// visible focus), Enter opens the form with the focus on its first field,
// Tab walks to the message and the send button, Enter sends, and the
// focus lands on the announced result.
func TestKeyboardReply(t *testing.T) {
	ff := startFirefox(t)
	srv, relay := pageServer(t)
	sender, err := envelope.GenerateKey("Dr Claire Martin", "claire.martin@chu-lyon.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &browserEnv{relay: relay, sender: sender}
	d, _, secret := e.linkDrop(t, "")
	d.replyMax = 1 << 20
	p := ff.page(t)
	p.goto_(srv.URL + "/d/" + d.id + "#" + secret)
	p.waitState("decrypted")
	p.poll(`document.documentElement.dataset.reply === "offered"`)
	p.str(`(document.querySelector(".skip").focus(), "")`)
	focused := func() string { return p.str(`document.activeElement.id || document.activeElement.tagName`) }
	for i := 0; i < 150 && focused() != "reply-open"; i++ {
		p.press("Tab")
	}
	if focused() != "reply-open" {
		t.Fatal("Tab never reaches the reply button")
	}
	if style := p.str(`(s => s.outlineStyle + " | " + s.boxShadow)(getComputedStyle(document.activeElement))`); strings.HasPrefix(style, "none") && strings.HasSuffix(style, "| none") {
		t.Errorf("the reply button shows no focus indicator (%s)", style)
	}
	p.press("Enter")
	p.poll(`document.documentElement.dataset.reply === "form"`)
	if got := focused(); got != "reply-files" {
		t.Fatalf("focus on %q once the form opens, want the file field", got)
	}
	for i := 0; i < 10 && focused() != "reply-message"; i++ {
		p.press("Tab")
	}
	if focused() != "reply-message" {
		t.Fatal("Tab never reaches the message field")
	}
	p.do(nil, "keys", "text", "Bien reçu, merci.")
	p.press("Tab")
	if got := p.str(`document.activeElement.type`); got != "submit" {
		t.Fatalf("after the message Tab reaches %q, want the send button", got)
	}
	p.press("Enter")
	if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "sent" {
		t.Fatalf("reply %s: %s", st, p.str(`document.getElementById("reply-status-text").textContent`))
	}
	if got := focused(); got != "reply-status-text" {
		t.Errorf("focus on %q after sending, want the result", got)
	}
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if len(relay.replies) != 1 {
		t.Fatalf("the relay got %d replies", len(relay.replies))
	}
	for _, r := range relay.replies {
		if !r.complete {
			t.Error("the reply was not completed")
		}
	}
}
