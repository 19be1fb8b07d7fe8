package relay

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/relayapi"
)

// maxCodeSends bounds how often one drop's code is sent: once. A failed
// send gives its turn back; a client retrying after a crash gets 429 and
// knows the code left.
const maxCodeSends = 1

var phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// codeSends counts the code deliveries per drop, in memory.
type codeSends struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *codeSends) take(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[id] >= maxCodeSends {
		return false
	}
	c.n[id]++
	return true
}

// giveBack returns a turn taken by a send that failed.
func (c *codeSends) giveBack(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[id] > 0 {
		c.n[id]--
	}
}

// handleCodeSend serves POST /api/v1/drops/{id}/code/send to the drop's
// sender: the relay delivers the access code over a second channel (SMS
// through its gateway, or a mail to an address that is not a recipient of
// the link's mail) and forgets it. It checks the code against the stored
// argon2id hash, so that only the drop's own code can be sent; the code
// is never stored or logged.
func (s *Server) handleCodeSend(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	var req relayapi.CodeSendRequest
	if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxJSONBody), &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !d.NeedsCode() {
		writeError(w, http.StatusBadRequest, "this drop has no access code")
		return
	}
	if st := d.StateAt(s.now()); st != StatePending && st != StateReady {
		writeGone(w, st)
		return
	}
	kind, dest, _ := strings.Cut(req.To, ":")
	switch kind {
	case "sms":
		if !phoneRe.MatchString(dest) {
			writeError(w, http.StatusBadRequest, "to: sms:+33… (an international number)")
			return
		}
		if s.cfg.SMS == nil {
			writeError(w, http.StatusNotImplemented, "this relay has no SMS gateway (sealrelay serve --sms-gateway)")
			return
		}
	case "mail":
		addr, err := parseAddress(dest)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if slices.Contains(d.Recipients, strings.ToLower(addr)) || slices.Contains(d.Recipients, addr) {
			writeError(w, http.StatusBadRequest, "the code must not go to an address that receives the link: choose a second address or SMS")
			return
		}
		if s.cfg.Mail == nil {
			writeError(w, http.StatusNotImplemented, "this relay sends no mail (sealrelay serve --smtp)")
			return
		}
		dest = addr
	default:
		writeError(w, http.StatusBadRequest, "to must be sms:+33… or mail:ADDRESS")
		return
	}
	if len(req.Code) < minCodeLen || len(req.Code) > maxCodeLen {
		writeError(w, http.StatusBadRequest, "code: 4 to 64 characters")
		return
	}
	good, err := checkCode(d.CodeHash, req.Code)
	if err != nil {
		s.internalError(w, r, "check code", err)
		return
	}
	if !good {
		writeError(w, http.StatusBadRequest, "this is not the drop's access code")
		return
	}
	if !s.codeSends.take(d.ID) {
		writeError(w, http.StatusTooManyRequests, "the code of this drop was already sent")
		return
	}
	sender := d.SenderID
	if snd, err := s.store.Sender(r.Context(), d.SenderID); err == nil {
		sender = snd.Name
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if kind == "sms" {
		err = s.cfg.SMS.send(ctx, dest, req.Code, sender, d.ExpiresAt)
	} else {
		err = s.cfg.Mail.Send(ctx, codeMail(s.cfg.MailFrom, dest, req.Code, sender, d.ExpiresAt))
	}
	if err != nil {
		s.codeSends.giveBack(d.ID)
		s.log.ErrorContext(r.Context(), "code delivery failed", "drop", d.ID, "channel", kind, "err", err)
		writeError(w, http.StatusBadGateway, "the "+kind+" could not be sent; give the code by phone")
		return
	}
	s.log.InfoContext(r.Context(), "access code delivered", "drop", d.ID, "channel", kind)
	writeJSON(w, http.StatusOK, relayapi.CodeSendResponse{SentVia: kind, To: maskDest(kind, dest)})
}

// maskDest hides most of a number or address, for the sender's page.
func maskDest(kind, dest string) string {
	if kind == "sms" && len(dest) > 6 {
		return dest[:3] + strings.Repeat("•", len(dest)-5) + dest[len(dest)-2:]
	}
	if at := strings.IndexByte(dest, '@'); at > 1 {
		return dest[:1] + "…" + dest[at:]
	}
	return dest
}

// codeMail is the mail carrying only the code (never the link).
func codeMail(from, to, code, sender string, expires time.Time) *mail.Message {
	text := "Code d'accès au document scellé envoyé par " + sender + " : " + code + "\n" +
		"Le lien vous parvient par un autre message. Valable jusqu'au " + dateFR(expires) + ".\n\n" +
		"Access code for the sealed document sent by " + sender + ": " + code + "\n" +
		"The link reaches you in another message. Valid until " + dateEN(expires) + ".\n"
	return &mail.Message{From: from, To: []string{to}, Subject: "Code d'accès / Access code", Text: text}
}
