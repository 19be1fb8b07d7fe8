package relay

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// sendReply posts one complete reply of data to drop d.
func (h *harness) sendReply(d replyDrop, data []byte) string {
	h.t.Helper()
	g := h.grant(d)
	resp, body := h.createReply(d.id, g.Grant, data)
	cr := decode[relayapi.CreateReplyResponse](h.t, expect(h.t, resp, body, http.StatusCreated))
	resp, body = h.tusCreate(cr.ID, int64(len(data)), relayapi.HeaderReplyGrant, g.Grant)
	expect(h.t, resp, body, http.StatusCreated)
	resp, body = h.patch(cr.ID, 0, data, relayapi.HeaderReplyGrant, g.Grant)
	expect(h.t, resp, body, http.StatusNoContent)
	resp, body = h.do("POST", cr.CompleteURL, nil, relayapi.HeaderReplyGrant, g.Grant)
	expect(h.t, resp, body, http.StatusOK)
	return cr.ID
}

// TestReplyMail: with SMTP, a reply reaching the relay mails the sender
// of the original drop (its enrolled address), French first, naming the
// drop by when it was sent and carrying nothing of the reply; each reply
// mails once. A sender without an address and a relay without SMTP send
// nothing, and the reply is still stored.
func TestReplyMail(t *testing.T) {
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	ms, err := mail.NewSMTP(smtp.URL, "relay@relay.example")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Mail = ms })
	key, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	d := h.replyable(key, 0, true)
	const marker = "REPLY-CONTENT-MARKER-5e1d"
	reply := append([]byte(marker), randomBytes(t, 2000)...)
	replyID := h.sendReply(d, reply)
	h.waitMail()

	isReply := func(m testutil.ReceivedMail) bool { return strings.Contains(mimeWord(t, m), "Secure reply") }
	got := smtp.WaitMessage(t, 0, isReply)
	if len(got.To) != 1 || got.To[0] != "durand@hospital.example" {
		t.Fatalf("reply notice to %v, want the sender's address", got.To)
	}
	msg := got.Message(t)
	subject := mimeWord(t, got)
	if !strings.HasPrefix(subject, "Réponse sécurisée reçue") || !strings.Contains(subject, "Secure reply received") {
		t.Errorf("subject %q: want French first, English second", subject)
	}
	body := plainText(t, msg)
	fr := strings.Index(body, "Une réponse chiffrée est arrivée à votre envoi du 23 novembre 2026")
	en := strings.Index(body, "An encrypted reply arrived to what you sent on 23 November 2026")
	if fr < 0 || en < 0 || fr > en {
		t.Errorf("body lacks the French then English notice with the sending date:\n%s", body)
	}
	if !strings.Contains(body, d.id) {
		t.Errorf("body does not name drop %s", d.id)
	}
	if strings.Contains(got.Data, marker) || strings.Contains(got.Data, replyID) {
		t.Error("the notice carries the reply's content or id")
	}
	count := func() int {
		n := 0
		for _, m := range smtp.Messages(t) {
			if isReply(m) {
				n++
			}
		}
		return n
	}
	// A second reply mails again. waitMail returns once the relay's SMTP
	// client is done: the server has the message by then.
	h.sendReply(d, randomBytes(t, 300))
	h.waitMail()
	if n := count(); n != 2 {
		t.Errorf("%d reply notices after two replies, want 2", n)
	}

	if st := h.status(d.id); len(st.Replies) != 2 {
		t.Errorf("%d replies stored, want 2", len(st.Replies))
	}

	// A sender enrolled without an address: no notice.
	h2 := newHarness(t, func(c *Config) { c.Mail = ms })
	h2.sender, h2.token = h2.enrol("Dr Sans Adresse", "")
	before := len(smtp.Messages(t))
	d2 := h2.replyable(key, 0, true)
	h2.sendReply(d2, randomBytes(t, 300))
	h2.waitMail()
	if n := len(smtp.Messages(t)); n != before {
		t.Errorf("%d mails sent for a sender without an address", n-before)
	}
	if st := h2.status(d2.id); len(st.Replies) != 1 {
		t.Errorf("%d replies stored, want 1", len(st.Replies))
	}
}

// TestReplyNoMail: a relay without SMTP takes the reply and sends nothing.
func TestReplyNoMail(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Mail = nil })
	key, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	d := h.replyable(key, 0, true)
	h.sendReply(d, randomBytes(t, 500))
	h.waitMail()
	h.mail.none(t)
	if st := h.status(d.id); len(st.Replies) != 1 || st.Replies[0].State != StateReady {
		t.Fatalf("replies %+v", st.Replies)
	}
}

// mimeWord returns m's decoded Subject header.
func mimeWord(t *testing.T, m testutil.ReceivedMail) string {
	t.Helper()
	raw := m.Message(t).Header.Get("Subject")
	s, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		t.Fatalf("subject %q: %v", raw, err)
	}
	return s
}

// plainText returns the text/plain part of a multipart/alternative mail,
// decoded.
func plainText(t *testing.T, msg *netmail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(quotedprintable.NewReader(part))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
