package relay

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sealprint/sealprint/relayapi"
)

// EventEnroll: an organisation token enrolled a sender (Sender is the new
// sender, Count the token's remaining uses or -1).
const EventEnroll = "enroll"

// senderKeyIdentity parses an armored public key and returns its
// fingerprint and the address of its primary user ID.
func senderKeyIdentity(armored string) (fpr, name, email string, err error) {
	if len(armored) > maxSenderKey {
		return "", "", "", errors.New("sender_key too large")
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader([]byte(armored)))
	if err != nil || len(el) != 1 {
		return "", "", "", errors.New("sender_key must be one armored public key")
	}
	e := el[0]
	if e.PrivateKey != nil {
		return "", "", "", errors.New("sender_key holds a secret key: send only the public key")
	}
	id := e.PrimaryIdentity()
	if id == nil || id.UserId == nil {
		return "", "", "", errors.New("sender_key has no user ID")
	}
	a, err := mail.ParseAddress(id.UserId.Email)
	if err != nil || a.Address != id.UserId.Email {
		return "", "", "", errors.New("sender_key's user ID holds no valid e-mail address")
	}
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)), id.UserId.Name, strings.ToLower(a.Address), nil
}

// handleEnroll serves POST /api/v1/enroll: an organisation token is
// exchanged for a per-sender credential bound to the sender's key. The
// identity is not vouched for until it is approved.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	org, err := s.tokenHolder(r)
	var refused errTokenRefused
	if errors.As(err, &refused) {
		writeError(w, http.StatusUnauthorized, refused.reason)
		return
	}
	if err != nil {
		s.internalError(w, r, "authenticate", err)
		return
	}
	if org == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sealrelay"`)
		writeError(w, http.StatusUnauthorized, "missing or unknown organisation token")
		return
	}
	if org.Kind != KindOrg {
		writeError(w, http.StatusConflict, "this token is already a sender's credential: no enrolment needed")
		return
	}
	var req relayapi.EnrollRequest
	if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxSenderKey+1024), &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	fpr, name, email, err := senderKeyIdentity(req.SenderKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if name == "" {
		name = email
	}
	// One address, one sender: a co-sender cannot enrol a key in the name
	// of someone already enrolled.
	all, err := s.store.Senders(r.Context())
	if err != nil {
		s.internalError(w, r, "senders", err)
		return
	}
	for _, o := range all {
		if o.Kind == KindSender && o.RevokedAt.IsZero() && strings.EqualFold(o.Email, email) && o.KeyFPR != "" && o.KeyFPR != fpr {
			writeError(w, http.StatusConflict, "the address "+email+" is already enrolled with another key: ask the relay's administrator")
			return
		}
	}
	org, err = s.store.UpdateSender(r.Context(), org.ID, func(o *Sender) error {
		if o.UsesLeft == 0 {
			return errTokenRefused{"this organisation token has no enrolments left"}
		}
		if o.UsesLeft > 0 {
			o.UsesLeft--
		}
		return nil
	})
	if errors.As(err, &refused) {
		writeError(w, http.StatusUnauthorized, refused.reason)
		return
	}
	if err != nil {
		s.internalError(w, r, "use organisation token", err)
		return
	}
	snd, token, err := CreateToken(r.Context(), s.store, TokenSpec{
		Name: name, Email: email, Org: org.Org, Parent: org.ID, KeyFPR: fpr, ExpiresAt: org.ExpiresAt,
	}, s.now())
	if err != nil {
		s.internalError(w, r, "enrol", err)
		return
	}
	if err := s.record(r.Context(), EventEnroll, "", snd.ID, org.UsesLeft); err != nil {
		// The credential exists but is not recorded: revoke it.
		RevokeToken(r.Context(), s.store, snd.ID, s.now())
		s.internalError(w, r, "audit", err)
		return
	}
	writeJSON(w, http.StatusCreated, relayapi.EnrollResponse{
		Token: token, SenderID: snd.ID, Org: snd.Org, Fingerprint: fpr, Email: email, Verified: snd.Verified,
	})
}
