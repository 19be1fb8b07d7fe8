package relay

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// parseReceipt decodes a receipt body; the proof is an HMAC-SHA256 in hex.
// A signed receipt carries the signer's fingerprint, a bounded base64
// signature and the time it states, all three or none.
func parseReceipt(r io.Reader) (*relayapi.ReceiptRequest, error) {
	var req relayapi.ReceiptRequest
	if err := decodeStrict(r, &req); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(req.Proof)
	if err != nil || len(b) != 32 {
		return nil, errors.New("proof must be 64 hex digits")
	}
	req.Proof = hex.EncodeToString(b)
	if req.LinkProof != "" {
		b, err := hex.DecodeString(req.LinkProof)
		if err != nil || len(b) != 32 {
			return nil, errors.New("link_proof must be 64 hex digits")
		}
		req.LinkProof = hex.EncodeToString(b)
	}
	if req.Signer == "" && req.Signature == "" && req.SignedAt.IsZero() {
		return &req, nil
	}
	if req.Signer, err = relayapi.NormalizeFingerprint(req.Signer); err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if len(req.Signature) > relayapi.MaxReceiptSignature {
		return nil, fmt.Errorf("signature larger than %d bytes", relayapi.MaxReceiptSignature)
	}
	if sig, err := base64.StdEncoding.Strict().DecodeString(req.Signature); err != nil || len(sig) == 0 {
		return nil, errors.New("signature must be base64")
	}
	if req.SignedAt.IsZero() {
		return nil, errors.New("a signed receipt needs signed_at")
	}
	req.SignedAt = req.SignedAt.UTC()
	return &req, nil
}

// signerIsRecipient reports whether a signed receipt's signer is one of
// the keys the drop states it is encrypted to (any signer when it states
// none).
func signerIsRecipient(d *Drop, signer string) bool {
	if signer == "" || len(d.RecipientKeys) == 0 {
		return true
	}
	for _, k := range d.RecipientKeys {
		if k.Fingerprint == signer {
			return true
		}
	}
	return false
}

// handleReceipt serves POST /api/v1/drops/{id}/receipt, posted by a
// recipient after decrypting. A receipt must carry the one-time token of a
// download (see receipt_token.go), else it is refused with 403 and nothing
// is mailed; at most maxReceiptsPerDrop are kept.
func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return
	}
	req, err := parseReceipt(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	proof, token := req.Proof, req.Token
	if req.LinkProof != "" && d.Mode != relayapi.ModeLink {
		writeError(w, http.StatusBadRequest, "link_proof goes with a link-mode drop")
		return
	}
	if !signerIsRecipient(d, req.Signer) {
		writeError(w, http.StatusForbidden, "the receipt is signed by "+req.Signer+", not a key this drop is encrypted to")
		return
	}
	if d.Downloads == 0 {
		writeError(w, http.StatusConflict, "drop not downloaded yet")
		return
	}
	n, ok := parseReceiptToken(s.cfg.GrantKey, d.ID, token)
	if !ok || n < 1 || n > d.Downloads {
		writeError(w, http.StatusForbidden, "a receipt needs the receipt token of a download")
		return
	}
	have, err := s.store.Receipts(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "receipts", err)
		return
	}
	for _, rc := range have {
		if rc.Download == n {
			writeError(w, http.StatusForbidden, "this download's receipt token was already used")
			return
		}
	}
	if len(have) >= maxReceiptsPerDrop {
		writeError(w, http.StatusTooManyRequests, "too many receipts for this drop")
		return
	}
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		e := AuditEvent{Event: EventReceipt, Drop: d.ID, Count: len(have) + 1}
		if req.Signer != "" {
			e.Keys = []string{req.Signer}
		}
		if err := s.recordEvent(ctx, e); err != nil {
			return err
		}
		return s.store.AddReceipt(ctx, d.ID, relayapi.Receipt{At: s.now().UTC(), Proof: proof, LinkProof: req.LinkProof, Download: n,
			Signer: req.Signer, Signature: req.Signature, SignedAt: req.SignedAt})
	})
	if err != nil {
		s.internalError(w, r, "add receipt", err)
		return
	}
	s.metrics.receipts.Inc()
	if len(have) == 0 {
		s.notifySender(d, noticeReceipt)
	}
	w.WriteHeader(http.StatusNoContent)
}
