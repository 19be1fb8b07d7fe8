package relay

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// parseReceipt decodes a receipt body; the proof is an HMAC-SHA256 in hex.
func parseReceipt(r io.Reader) (proof, token string, err error) {
	var req relayapi.ReceiptRequest
	if err := decodeStrict(r, &req); err != nil {
		return "", "", err
	}
	b, err := hex.DecodeString(req.Proof)
	if err != nil || len(b) != 32 {
		return "", "", errors.New("proof must be 64 hex digits")
	}
	return hex.EncodeToString(b), req.Token, nil
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
	proof, token, err := parseReceipt(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
		if err := s.record(ctx, EventReceipt, d.ID, "", len(have)+1); err != nil {
			return err
		}
		return s.store.AddReceipt(ctx, d.ID, relayapi.Receipt{At: s.now().UTC(), Proof: proof, Download: n})
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
