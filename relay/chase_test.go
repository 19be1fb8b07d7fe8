package relay

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// The sender's client chases an unopened drop: the relay mails the
// sender (never the recipient), at most maxChaseMails times, and not once
// the drop was downloaded; only the drop's sender may chase.
func TestChase(t *testing.T) {
	h := newHarness(t)
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	chase := func() relayapi.ChaseResponse {
		resp, body := h.do("POST", "/api/v1/drops/"+id+"/chase", map[string]string{}, h.auth()...)
		return decode[relayapi.ChaseResponse](t, expect(t, resp, body, http.StatusOK))
	}
	if !chase().Mailed {
		t.Fatal("no reminder mailed")
	}
	h.waitMail()
	m := h.mail.next(t)
	if m.To[0] != "durand@hospital.example" || !strings.Contains(m.Subject, "not opened yet") || !strings.Contains(m.Text, "pas encore") {
		t.Fatalf("mail %q to %v:\n%s", m.Subject, m.To, m.Text)
	}
	h.mail.none(t)
	for i := 1; i < maxChaseMails; i++ {
		chase()
	}
	if chase().Mailed {
		t.Fatal("reminders unbounded")
	}
	resp, body := h.do("POST", "/api/v1/drops/"+id+"/chase", map[string]string{})
	expect(t, resp, body, http.StatusUnauthorized)

	other := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{})
	resp, body = h.do("GET", "/api/v1/drops/"+other+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	resp, body = h.do("POST", "/api/v1/drops/"+other+"/chase", map[string]string{}, h.auth()...)
	if got := decode[relayapi.ChaseResponse](t, expect(t, resp, body, http.StatusOK)); got.Mailed {
		t.Fatal("reminder for a downloaded drop")
	}
}
