package keyserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// maxUploadBody bounds a VKS upload request: an armored MaxKeyBytes key in
// JSON.
const maxUploadBody = MaxKeyBytes*3/2 + 4096

var (
	hexFingerprint = regexp.MustCompile(`^(?:[0-9A-F]{40}|[0-9A-F]{64})$`)
	hexKeyID       = regexp.MustCompile(`^[0-9A-F]{16}$`)
)

// notFoundMsg is the one answer for unknown and unpublished keys alike.
const notFoundMsg = "no key found"

// serveKeys writes the published form of the keys fprs, armored, or 404.
func (h *Handler) serveKeys(w http.ResponseWriter, r *http.Request, fprs []string, onlyVerified bool) {
	var buf bytes.Buffer
	n := 0
	for _, f := range fprs {
		c, publish, err := h.dir.published(r.Context(), f)
		if err != nil {
			continue
		}
		if onlyVerified && !hasPublished(c, publish) {
			continue
		}
		if err := c.Serialize(&buf, publish); err != nil {
			continue
		}
		n++
	}
	if n == 0 {
		http.Error(w, notFoundMsg, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeArmored(w, buf.Bytes())
}

func hasPublished(c *Cert, publish func(string) bool) bool {
	for _, e := range c.Emails() {
		if publish(e) {
			return true
		}
	}
	return false
}

func normalizeHex(s string) string {
	s = strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	return strings.ReplaceAll(s, " ", "")
}

// byFingerprint serves GET /vks/v1/by-fingerprint/{fpr}: the identity-free
// parts plus the verified user IDs.
func (h *Handler) byFingerprint(w http.ResponseWriter, r *http.Request) {
	fpr := normalizeHex(r.PathValue("fpr"))
	if !hexFingerprint.MatchString(fpr) {
		writeError(w, http.StatusBadRequest, "malformed fingerprint")
		return
	}
	fprs, err := h.dir.store.ByKeyID(r.Context(), fpr)
	if err != nil {
		h.internalError(w, "lookup by fingerprint", err)
		return
	}
	h.serveKeys(w, r, fprs, false)
}

// byKeyID serves GET /vks/v1/by-keyid/{keyid}.
func (h *Handler) byKeyID(w http.ResponseWriter, r *http.Request) {
	id := normalizeHex(r.PathValue("keyid"))
	if !hexKeyID.MatchString(id) {
		writeError(w, http.StatusBadRequest, "malformed key ID")
		return
	}
	fprs, err := h.dir.store.ByKeyID(r.Context(), id)
	if err != nil {
		h.internalError(w, "lookup by key ID", err)
		return
	}
	h.serveKeys(w, r, fprs, false)
}

// byEmail serves GET /vks/v1/by-email/{email}: only a verified address
// finds a key; unknown and unverified addresses get the same 404.
func (h *Handler) byEmail(w http.ResponseWriter, r *http.Request) {
	email := NormalizeEmail(r.PathValue("email"))
	if email == "" {
		writeError(w, http.StatusBadRequest, "malformed email address")
		return
	}
	fprs, err := h.dir.store.ByEmail(r.Context(), email)
	if err != nil {
		h.internalError(w, "lookup by email", err)
		return
	}
	h.serveKeys(w, r, fprs, true)
}

// uploadResponse is the VKS answer to upload and request-verify.
type uploadResponse struct {
	Token  string            `json:"token"`
	KeyFpr string            `json:"key_fpr"`
	Status map[string]string `json:"status"`
}

// upload serves POST /vks/v1/upload {"keytext": "…"}.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	if !h.clientAllowed(w, r) {
		return
	}
	var req struct {
		Keytext string `json:"keytext"`
	}
	if !readJSON(w, r, maxUploadBody, &req) {
		return
	}
	c, err := ParseCert(strings.NewReader(req.Keytext))
	if err != nil {
		h.keyError(w, err)
		return
	}
	resp, err := h.addUploaded(r.Context(), c)
	if err != nil {
		h.keyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// addUploaded stores an uploaded key and mints its upload token.
func (h *Handler) addUploaded(ctx context.Context, c *Cert) (*uploadResponse, error) {
	emails, err := h.dir.publishable(c)
	if err != nil {
		return nil, err
	}
	if len(emails) == 0 && len(c.Emails()) > 0 {
		return nil, ErrDomainNotAllowed
	}
	rec, merged, err := h.dir.add(ctx, c, false)
	if err != nil {
		return nil, err
	}
	secret, hash, err := newToken(h.opts.Rand)
	if err != nil {
		return nil, err
	}
	t := &Token{Hash: hash, Kind: tokenUpload, Fingerprint: rec.Fingerprint, Expires: h.opts.Now().Add(h.opts.UploadTokenTTL)}
	if err := h.dir.store.PutToken(ctx, t); err != nil {
		return nil, err
	}
	st, err := h.dir.status(rec, merged, nil)
	if err != nil {
		return nil, err
	}
	h.log.Info("key uploaded", "fingerprint", rec.Fingerprint)
	return &uploadResponse{Token: secret, KeyFpr: rec.Fingerprint, Status: st}, nil
}

// requestVerify serves POST /vks/v1/request-verify
// {"token": "…", "addresses": ["…"]}: it mails a verification link to each
// address not yet published.
func (h *Handler) requestVerify(w http.ResponseWriter, r *http.Request) {
	if !h.clientAllowed(w, r) {
		return
	}
	var req struct {
		Token     string   `json:"token"`
		Addresses []string `json:"addresses"`
	}
	if !readJSON(w, r, 64<<10, &req) {
		return
	}
	if h.opts.Mail == nil || h.opts.PublicURL == "" {
		writeError(w, http.StatusServiceUnavailable, "this key directory does not send verification mail")
		return
	}
	if len(req.Addresses) == 0 || len(req.Addresses) > MaxUserIDs {
		writeError(w, http.StatusBadRequest, "name between 1 and 100 addresses")
		return
	}
	if !validTokenSyntax(req.Token) {
		writeError(w, http.StatusBadRequest, "unknown or expired upload token; upload the key again")
		return
	}
	ctx := r.Context()
	tok, err := h.dir.store.GetToken(ctx, tokenHash(req.Token))
	if err != nil || tok.Kind != tokenUpload {
		writeError(w, http.StatusBadRequest, "unknown or expired upload token; upload the key again")
		return
	}
	rec, c, err := h.dir.load(ctx, tok.Fingerprint)
	if err != nil {
		writeError(w, http.StatusBadRequest, "unknown or expired upload token; upload the key again")
		return
	}
	st, err := h.dir.status(rec, c, nil)
	if err != nil {
		h.internalError(w, "request verify", err)
		return
	}
	var pending []string
	for _, a := range req.Addresses {
		email := NormalizeEmail(a)
		switch st[email] {
		case "":
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an address of this key that may be published here", a))
			return
		case "published", "revoked":
			continue
		}
		err := h.sendVerification(r, rec.Fingerprint, email)
		switch {
		case errors.Is(err, errRateLimited):
			w.Header().Set("Retry-After", "3600")
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many verification mails for %s or from this client; try again later", email))
			return
		case err != nil:
			h.log.Error("send verification mail", "fingerprint", rec.Fingerprint, "err", err)
			writeError(w, http.StatusBadGateway, "the verification mail could not be sent; try again later")
			return
		}
		pending = append(pending, email)
	}
	st, err = h.dir.status(rec, c, pending)
	if err != nil {
		h.internalError(w, "request verify", err)
		return
	}
	writeJSON(w, http.StatusOK, uploadResponse{Token: req.Token, KeyFpr: rec.Fingerprint, Status: st})
}

// keyError answers a refused key: 413 for size, 422 for the rest.
func (h *Handler) keyError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrKeyRejected):
		code := http.StatusUnprocessableEntity
		if errors.Is(err, ErrKeyTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, err.Error())
	case errors.Is(err, ErrDomainNotAllowed):
		writeError(w, http.StatusUnprocessableEntity, "none of this key's addresses is in a domain allowed to publish here")
	default:
		h.internalError(w, "store key", err)
	}
}

func (h *Handler) internalError(w http.ResponseWriter, what string, err error) {
	h.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
