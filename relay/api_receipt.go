package relay

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// parseReceipt decodes a receipt body; the proof is an HMAC-SHA256 in hex.
func parseReceipt(r io.Reader) (string, error) {
	var req relayapi.ReceiptRequest
	if err := decodeStrict(r, &req); err != nil {
		return "", err
	}
	b, err := hex.DecodeString(req.Proof)
	if err != nil || len(b) != 32 {
		return "", errors.New("proof must be 64 hex digits")
	}
	return hex.EncodeToString(b), nil
}

// handleReceipt serves POST /api/v1/drops/{id}/receipt, posted by a
// recipient after decrypting. Receipts are only accepted once the drop was
// downloaded, and at most maxReceiptsPerDrop are kept.
func (s *Server) handleReceipt(w http.ResponseWriter, r *http.Request) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return
	}
	proof, err := parseReceipt(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if d.Downloads == 0 {
		writeError(w, http.StatusConflict, "drop not downloaded yet")
		return
	}
	have, err := s.store.Receipts(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "receipts", err)
		return
	}
	if len(have) >= maxReceiptsPerDrop {
		writeError(w, http.StatusTooManyRequests, "too many receipts for this drop")
		return
	}
	if err := s.record(r.Context(), EventReceipt, d.ID, "", len(have)+1); err != nil {
		s.internalError(w, r, "audit", err)
		return
	}
	if err := s.store.AddReceipt(r.Context(), d.ID, relayapi.Receipt{At: s.now().UTC(), Proof: proof}); err != nil {
		s.internalError(w, r, "add receipt", err)
		return
	}
	s.metrics.receipts.Inc()
	if len(have) == 0 {
		s.notifySender(d, noticeReceipt)
	}
	w.WriteHeader(http.StatusNoContent)
}
