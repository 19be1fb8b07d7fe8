package relay

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sealprint/sealprint/relayapi"
)

// Input limits of a create request.
const (
	maxIdempotencyKey = 128
	maxAddress        = 254
	maxSenderKey      = 48 << 10
	minCodeLen        = 4
	maxCodeLen        = 64
	maxDownloadsLimit = 1000
)

// errTooLarge marks a create request whose size exceeds the relay's limit.
var errTooLarge = errors.New("document larger than this relay accepts")

// validatedCreate is a create request after checks and normalisation.
type validatedCreate struct {
	relayapi.CreateDropRequest
	expiresIn    time.Duration
	maxDownloads int
	senderFPR    string
}

// parseCreate decodes and validates a create request body.
func parseCreate(r io.Reader, maxSize int64) (*validatedCreate, error) {
	var req relayapi.CreateDropRequest
	if err := decodeStrict(r, &req); err != nil {
		return nil, err
	}
	return validateCreate(&req, maxSize)
}

func validateCreate(req *relayapi.CreateDropRequest, maxSize int64) (*validatedCreate, error) {
	v := &validatedCreate{CreateDropRequest: *req}
	if len(req.IdempotencyKey) > maxIdempotencyKey || !printableASCII(req.IdempotencyKey) {
		return nil, fmt.Errorf("idempotency_key must be at most %d printable ASCII characters", maxIdempotencyKey)
	}
	if req.Size <= 0 {
		return nil, errors.New("size must be positive")
	}
	if req.Size > maxSize {
		return nil, fmt.Errorf("%w (%d bytes max)", errTooLarge, maxSize)
	}
	if b, err := hex.DecodeString(req.SHA256); err != nil || len(b) != 32 {
		return nil, errors.New("sha256 must be 64 hex digits")
	}
	v.SHA256 = strings.ToLower(req.SHA256)
	if len(req.Recipients) > MaxRecipients {
		return nil, fmt.Errorf("at most %d recipients", MaxRecipients)
	}
	v.Recipients = make([]string, 0, len(req.Recipients))
	for _, a := range req.Recipients {
		addr, err := parseAddress(a)
		if err != nil {
			return nil, err
		}
		v.Recipients = append(v.Recipients, addr)
	}
	switch req.Mode {
	case "key", "link":
	default:
		return nil, errors.New(`mode must be "key" or "link"`)
	}
	switch {
	case req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > int64(MaxExpiry/time.Second):
		return nil, fmt.Errorf("expires_in_seconds must be between 1 and %d", int64(MaxExpiry/time.Second))
	case req.ExpiresInSeconds == 0:
		v.expiresIn = DefaultExpiry
	default:
		v.expiresIn = time.Duration(req.ExpiresInSeconds) * time.Second
	}
	v.maxDownloads = DefaultDownloads
	if req.MaxDownloads != nil {
		if *req.MaxDownloads < 0 || *req.MaxDownloads > maxDownloadsLimit {
			return nil, fmt.Errorf("max_downloads must be between 0 and %d", maxDownloadsLimit)
		}
		v.maxDownloads = *req.MaxDownloads
	}
	if req.AccessCode != "" {
		if n := len(req.AccessCode); n < minCodeLen || n > maxCodeLen || !printableASCII(req.AccessCode) {
			return nil, fmt.Errorf("access_code must be %d to %d printable ASCII characters", minCodeLen, maxCodeLen)
		}
	}
	if err := checkRecipientKeys(v); err != nil {
		return nil, err
	}
	if req.ReplyVerifier != "" {
		if b, err := hex.DecodeString(req.ReplyVerifier); err != nil || len(b) != 32 {
			return nil, errors.New("reply_verifier must be 64 hex digits")
		}
		v.ReplyVerifier = strings.ToLower(req.ReplyVerifier)
	}
	if req.SenderKey != "" {
		fpr, err := publicKeyFingerprint(req.SenderKey)
		if err != nil {
			return nil, err
		}
		v.senderFPR = fpr
	}
	return v, nil
}

// parseAddress accepts a bare email address and returns it.
func parseAddress(a string) (string, error) {
	if len(a) == 0 || len(a) > maxAddress {
		return "", fmt.Errorf("recipient %q: not an email address", truncate(a, 64))
	}
	addr, err := mail.ParseAddress(a)
	if err != nil || addr.Address != a || addr.Name != "" || !strings.Contains(a, "@") {
		return "", fmt.Errorf("recipient %q: not a bare email address", truncate(a, 64))
	}
	return addr.Address, nil
}

// publicKeyFingerprint parses an armored public key and returns its
// primary key's fingerprint in uppercase hex. Secret keys are refused.
func publicKeyFingerprint(armored string) (string, error) {
	if len(armored) > maxSenderKey {
		return "", fmt.Errorf("sender_key larger than %d bytes", maxSenderKey)
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader([]byte(armored)))
	if err != nil {
		return "", fmt.Errorf("sender_key: %v", err)
	}
	if len(el) != 1 {
		return "", errors.New("sender_key must hold exactly one key")
	}
	if el[0].PrivateKey != nil {
		return "", errors.New("sender_key holds a secret key: send only the public key")
	}
	return strings.ToUpper(hex.EncodeToString(el[0].PrimaryKey.Fingerprint)), nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// checkBoundKey refuses a sender_key other than the key bound to the
// sender's credential (403). A credential from before key binding binds
// the first key it sends. It writes the error response itself.
func (s *Server) checkBoundKey(w http.ResponseWriter, r *http.Request, snd *Sender, fpr string) bool {
	if snd.KeyFPR == "" {
		bound, err := s.store.UpdateSender(r.Context(), snd.ID, func(o *Sender) error {
			if o.KeyFPR == "" {
				o.KeyFPR = fpr
			}
			return nil
		})
		if err != nil {
			s.internalError(w, r, "bind sender key", err)
			return false
		}
		snd = bound
	}
	if snd.KeyFPR != fpr {
		writeError(w, http.StatusForbidden, "sender_key "+fpr+" is not the key bound to this sender's credential ("+snd.KeyFPR+"): sign with your own enrolled key")
		return false
	}
	return true
}

// handleCreate serves POST /api/v1/drops.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	snd := senderFrom(r.Context())
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	req, err := parseCreate(body, s.cfg.MaxSize)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, errTooLarge), errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		default:
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return
	}
	if req.senderFPR != "" && !s.checkBoundKey(w, r, snd, req.senderFPR) {
		return
	}
	pol, err := s.policy.get()
	if err != nil {
		s.internalError(w, r, "policy", err)
		return
	}
	if err := applyPolicy(pol, req); err != nil {
		s.refusePolicy(w, r, err)
		return
	}
	now := s.now().UTC()
	id, err := relayapi.NewDropID(s.rnd)
	if err != nil {
		s.internalError(w, r, "new id", err)
		return
	}
	d := &Drop{
		ID: id, SenderID: snd.ID, IdempotencyKey: req.IdempotencyKey,
		Size: req.Size, SHA256: req.SHA256, Recipients: req.Recipients, Mode: req.Mode,
		CreatedAt: now, ExpiresAt: now.Add(req.expiresIn), MaxDownloads: req.maxDownloads,
		State: StatePending, SenderKey: req.SenderKey, SenderFPR: req.senderFPR, Notify: req.Notify,
		RecipientKeys: req.RecipientKeys,
		ReplyVerifier: req.ReplyVerifier,
	}
	if req.IdempotencyKey != "" {
		// Answer a retry before paying for the code hash.
		old, err := s.store.DropByIdempotencyKey(r.Context(), snd.ID, req.IdempotencyKey)
		if err == nil {
			s.writeCreated(w, r, old, http.StatusOK)
			return
		}
		if !errors.Is(err, ErrNotFound) {
			s.internalError(w, r, "find drop", err)
			return
		}
	}
	if req.AccessCode != "" {
		h, err := s.code.Hash(req.AccessCode, s.rnd)
		if err != nil {
			s.internalError(w, r, "hash code", err)
			return
		}
		d.CodeHash = h
	}
	// Recorded first: a drop never exists without its record (in a shared
	// database, both in one transaction).
	var got *Drop
	var created bool
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		if err := s.recordEvent(ctx, AuditEvent{Event: EventCreate, Drop: d.ID, Sender: snd.ID, Keys: recipientFingerprints(d.RecipientKeys)}); err != nil {
			return err
		}
		var err error
		got, created, err = s.store.CreateDrop(ctx, d)
		return err
	})
	if err != nil {
		s.internalError(w, r, "create drop", err)
		return
	}
	if !created {
		s.writeCreated(w, r, got, http.StatusOK)
		return
	}
	s.metrics.dropsCreated.Inc()
	s.writeCreated(w, r, d, http.StatusCreated)
}

func (s *Server) writeCreated(w http.ResponseWriter, r *http.Request, d *Drop, status int) {
	writeJSON(w, status, relayapi.CreateDropResponse{
		ID:        d.ID,
		State:     d.StateAt(s.now()),
		UploadURL: "/api/v1/uploads/" + d.ID,
		Link:      relayapi.Link(s.baseURL(r), d.ID),
		ExpiresAt: d.ExpiresAt,
	})
}

// baseURL is the relay's public URL without a trailing slash.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
