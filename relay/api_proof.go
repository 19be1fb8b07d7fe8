package relay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"time"
)

// DropAuditor is an Auditor that can list a drop's audit lines (AuditLog
// can).
type DropAuditor interface {
	DropEvents(ctx context.Context, drop string) ([]AuditEvent, error)
}

// ProofFor builds the signed proof of delivery of drop d.
func (s *Server) ProofFor(ctx context.Context, d *Drop, relayURL string) ([]byte, error) {
	if len(s.cfg.AuditKey) != ed25519.PrivateKeySize {
		return nil, errors.New("proof: this relay has no audit key")
	}
	da, ok := s.audit.(DropAuditor)
	if !ok {
		return nil, errors.New("proof: the audit log cannot list a drop's events")
	}
	return ProofFromLog(ctx, s.store, da, s.lastCheckpoint(), s.cfg.AuditKey, d, relayURL, s.now())
}

// ProofFromLog builds the signed proof of delivery of d from the store,
// the audit log and its latest checkpoint (for 'sealrelay audit export').
func ProofFromLog(ctx context.Context, st Store, da DropAuditor, cp *Checkpoint, key ed25519.PrivateKey, d *Drop, relayURL string, now time.Time) ([]byte, error) {
	events, err := da.DropEvents(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	receipts, err := st.Receipts(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	replies, err := st.Replies(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	return buildProof(proofSource{relay: relayURL, drop: d, receipts: receipts, events: events, cp: cp, now: now, replies: replies}, key)
}

// handleProof serves GET /api/v1/drops/{id}/proof: the sender's signed
// proof of delivery.
func (s *Server) handleProof(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	b, err := s.ProofFor(r.Context(), d, s.baseURL(r))
	if err != nil {
		s.internalError(w, r, "proof", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}
