package relay

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

func TestNotifications(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{Notify: true, Recipients: []string{"martin@police.example", "duty@police.example"}})
	h.waitMail()
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		m := h.mail.next(t)
		got[m.To[0]] = true
		if len(m.To) != 1 || m.From != "relay@relay.example" {
			t.Fatalf("mail to %v from %q", m.To, m.From)
		}
		link := "https://relay.example/d/" + id
		for _, part := range []string{m.Text, m.HTML} {
			for _, want := range []string{link, "Dr Durand", "30 novembre 2026", "30 November 2026", "sealed", "scellé"} {
				if !strings.Contains(part, want) {
					t.Errorf("mail lacks %q:\n%s", want, part)
				}
			}
			if strings.Contains(part, link+"#") {
				t.Error("mail link carries a fragment")
			}
		}
		if !strings.Contains(m.Subject, "Dr Durand") {
			t.Errorf("subject %q", m.Subject)
		}
	}
	if !got["martin@police.example"] || !got["duty@police.example"] {
		t.Fatalf("mailed %v", got)
	}
	h.mail.none(t)
	// The sender's status says when the recipients were mailed.
	if st := h.status(id); st.NotifiedAt.IsZero() {
		t.Fatalf("status lacks notified_at: %+v", st)
	}

	// First download and first receipt tell the sender; later ones do not.
	var tokens []string
	for i := 0; i < 2; i++ {
		resp, body := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
		expect(t, resp, body, http.StatusOK)
		tokens = append(tokens, resp.Header.Get(relayapi.HeaderReceiptToken))
	}
	h.waitMail()
	if m := h.mail.next(t); m.To[0] != "durand@hospital.example" || !strings.Contains(m.Subject, "downloaded") {
		t.Fatalf("mail %q to %v", m.Subject, m.To)
	}
	h.mail.none(t)
	// A receipt without a download's token mails nothing.
	resp, body := h.do("POST", "/api/v1/drops/"+id+"/receipt", map[string]string{"proof": strings.Repeat("ab", 32)})
	expect(t, resp, body, http.StatusForbidden)
	h.waitMail()
	h.mail.none(t)
	for i := 0; i < 2; i++ {
		resp, body := h.do("POST", "/api/v1/drops/"+id+"/receipt", relayapi.ReceiptRequest{Proof: strings.Repeat("ab", 32), Token: tokens[i]})
		expect(t, resp, body, http.StatusNoContent)
	}
	h.waitMail()
	if m := h.mail.next(t); !strings.Contains(m.Subject, "opened") {
		t.Fatalf("mail %q", m.Subject)
	}
	h.mail.none(t)

	// No notify flag: no mail to recipients. A sender without an address
	// gets no mail either.
	unmailed := h.ready(data, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	if st := h.status(unmailed); !st.NotifiedAt.IsZero() {
		t.Fatalf("unmailed drop has notified_at: %+v", st)
	}
	_, tok := h.enrol("No mail", "")
	h.token = tok
	id = h.ready(data, relayapi.CreateDropRequest{})
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	h.waitMail()
	h.mail.none(t)
}

func TestNotifyLinkMode(t *testing.T) {
	h := newHarness(t)
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Mode: "link", Notify: true, Recipients: []string{"martin@police.example"}})
	h.waitMail()
	m := h.mail.next(t)
	if !strings.Contains(m.Text, "https://relay.example/d/"+id) || !strings.Contains(m.Text, "separately") {
		t.Fatalf("link-mode mail:\n%s", m.Text)
	}
}

func TestMailEscapesSenderName(t *testing.T) {
	h := newHarness(t)
	_, tok := h.enrol(`<script>alert(1)</script>`, "x@example.org")
	h.token = tok
	h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Notify: true, Recipients: []string{"martin@police.example"}})
	h.waitMail()
	if m := h.mail.next(t); strings.Contains(m.HTML, "<script>") {
		t.Fatal("sender name not escaped in HTML mail")
	}
}
