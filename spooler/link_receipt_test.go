package spooler

import (
	"context"
	"strings"
	"testing"
	"time"
)

// In link mode each recipient has a secret of its own: a verified receipt
// whose link proof checks against one recipient's secret names that
// recipient, and only that one; a link proof that matches no secret, or a
// receipt without one, says "someone".
func TestLinkReceiptsNameTheRecipient(t *testing.T) {
	secretA, secretB := strings.Repeat("a", 43), strings.Repeat("b", 43)
	h := newHarness(t, func(o *Options) {
		o.CheckLinkReceipt = func(secret, sum, proof string) bool {
			return len(sum) == 64 && proof == "link-"+secret[:1]
		}
	})
	h.start()
	id := h.accept("sealed", "rapport", doc(300, "r"))
	h.waitState(id, Held)
	rel := Release{To: []string{"Martin@Police.example", "blanc@police.example"}, Options: SendOptions{Mode: ModeLink},
		LinkSecrets: map[string]string{"martin@police.example": secretA, "Blanc@police.example ": secretB}}
	j, err := h.sp.ReleaseWith(context.Background(), id, rel)
	if err != nil {
		t.Fatal(err)
	}
	if got := j.RecipientLinkSecrets(); len(got) != 2 || got[0] != secretA || got[1] != secretB {
		t.Fatalf("secrets in recipient order: %v", got)
	}
	h.waitState(id, Uploaded)
	d := h.relay.drop(id)
	h.relay.mu.Lock()
	d.downloads = 2
	d.receipts = []string{"good", "good", "forged"}
	d.linkProofs = []string{"link-a", "link-z", "link-b"} // Martin's; none's; Blanc's with a forged HMAC
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("the receipts counted", func() bool {
		j, _ = h.sp.Get(id)
		return j.Receipts == 2
	})
	if _, ok := j.OpenedBy["martin@police.example"]; !ok || len(j.OpenedBy) != 1 || j.UnsignedReceipts != 1 {
		t.Fatalf("opened by %v (%d naming no one), want Martin and one", j.OpenedBy, j.UnsignedReceipts)
	}
	// The record keeps the secrets (encrypted) across a restart.
	h.restart()
	j, _ = h.sp.Get(id)
	if j.LinkSecrets["martin@police.example"] != secretA || j.LinkSecrets["blanc@police.example"] != secretB {
		t.Fatal("link secrets lost across a restart")
	}
}

// A release's link secrets must be one per recipient, each its own.
func TestReleaseLinkSecretsChecked(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	id := h.accept("sealed", "rapport", doc(300, "r"))
	h.waitState(id, Held)
	a, b := strings.Repeat("a", 43), strings.Repeat("b", 43)
	to := []string{"martin@police.example", "blanc@police.example"}
	for name, rel := range map[string]Release{
		"one missing":    {To: to, LinkSecrets: map[string]string{to[0]: a}},
		"one shared":     {To: to, LinkSecrets: map[string]string{to[0]: a, to[1]: a}},
		"a stranger's":   {To: to, LinkSecrets: map[string]string{to[0]: a, to[1]: b, "x@y.example": strings.Repeat("c", 43)}},
		"both kinds":     {To: to, LinkSecret: a, LinkSecrets: map[string]string{to[0]: a, to[1]: b}},
		"key mode":       {To: to, Options: SendOptions{Mode: ModeKey}, LinkSecrets: map[string]string{to[0]: a, to[1]: b}},
		"an empty value": {To: to, LinkSecrets: map[string]string{to[0]: a, to[1]: ""}},
	} {
		if rel.Options.Mode == "" {
			rel.Options.Mode = ModeLink
		}
		if _, err := h.sp.ReleaseWith(context.Background(), id, rel); err == nil {
			t.Errorf("%s: released", name)
		}
	}
}
