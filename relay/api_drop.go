package relay

import (
	"context"
	"errors"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// writeGone answers a drop that can no longer be downloaded: 423 when
// locked, 410 otherwise.
func writeGone(w http.ResponseWriter, state string) {
	switch state {
	case StateLocked:
		writeJSON(w, http.StatusLocked, relayapi.Error{Error: "drop locked after too many wrong access codes", State: state})
	case StateExpired:
		writeJSON(w, http.StatusGone, relayapi.Error{Error: "drop expired: ask the sender to send it again", State: state})
	case StateRevoked:
		writeJSON(w, http.StatusGone, relayapi.Error{Error: "drop revoked by its sender", State: state})
	default:
		writeJSON(w, http.StatusGone, relayapi.Error{Error: "download limit reached: ask the sender to send it again", State: state})
	}
}

// handleInfo serves GET /api/v1/drops/{id} to anyone holding the id.
func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return
	}
	st := d.StateAt(s.now())
	switch st {
	case StatePending, StateReady:
	default:
		writeGone(w, st)
		return
	}
	resp := relayapi.DropInfo{
		ID: d.ID, State: st, Size: d.Size, ExpiresAt: d.ExpiresAt, NeedsCode: d.NeedsCode(),
		Mode: d.Mode, SenderKey: d.SenderKey, SenderFingerprint: d.SenderFPR,
	}
	if d.MaxDownloads > 0 {
		left := d.MaxDownloads - d.Downloads
		resp.DownloadsLeft = &left
	}
	if snd, err := s.store.Sender(r.Context(), d.SenderID); err == nil {
		resp.Sender = snd.Name
		// The relay vouches only for the key bound at enrolment, once the
		// sender's identity was approved, while the credential holds.
		if snd.Verified && snd.KeyFPR != "" && snd.KeyFPR == d.SenderFPR && snd.RevokedAt.IsZero() {
			resp.SenderVerified, resp.SenderOrg = true, snd.Org
		}
	}
	if ok, err := s.takesReplies(r.Context(), d); err != nil {
		s.internalError(w, r, "load sender", err)
		return
	} else if ok {
		if resp.ReplyMaxSize, err = s.maxReplySize(); err != nil {
			s.internalError(w, r, "policy", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleStatus serves GET /api/v1/drops/{id}/status to the drop's sender.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	receipts, err := s.store.Receipts(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "receipts", err)
		return
	}
	replies, err := s.repliesOf(r.Context(), d)
	if err != nil {
		s.internalError(w, r, "replies", err)
		return
	}
	writeJSON(w, http.StatusOK, relayapi.DropStatus{
		ID: d.ID, State: d.StateAt(s.now()), Size: d.Size, CreatedAt: d.CreatedAt,
		ExpiresAt: d.ExpiresAt, Downloads: d.Downloads, MaxDownloads: d.MaxDownloads,
		CodeFailures: d.CodeFailures, Receipts: receipts, Checkpoint: s.lastCheckpoint(), NotifiedAt: s.notifiedAt(d),
		Replies: replies,
	})
}

// handleRevoke serves DELETE /api/v1/drops/{id}: the drop is revoked and
// its ciphertext deleted. Revoking twice answers 204 again.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	d, unlock, ok := s.lockOwnDrop(w, r)
	if !ok {
		return
	}
	defer unlock()
	first := false
	err := s.atomically(r.Context(), func(ctx context.Context) error {
		_, err := s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
			if d.State == StateRevoked {
				return nil
			}
			first = true
			d.State = StateRevoked
			return s.record(ctx, EventRevoke, d.ID, d.SenderID, 0)
		})
		return err
	})
	if err != nil {
		s.internalError(w, r, "revoke", err)
		return
	}
	s.deleteBlob(r.Context(), d.ID)
	if first {
		s.metrics.dropsRevoked.Inc()
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteBlob removes a drop's ciphertext and any upload left; failures are
// logged and retried by the sweeper only for expired drops, so they are
// loud.
func (s *Server) deleteBlob(ctx context.Context, id string) {
	err := errors.Join(s.blobs.Delete(ctx, id), s.uploads.remove(ctx, id))
	if err != nil {
		s.log.ErrorContext(ctx, "delete drop data", "drop", id, "err", err)
	}
}
