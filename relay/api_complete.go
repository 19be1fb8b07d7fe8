package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// errState aborts an UpdateDrop whose drop left the expected state.
type errState struct{ state string }

func (e errState) Error() string { return "drop is " + e.state }

// handleComplete serves POST /api/v1/drops/{id}/complete: verify the
// finished upload against the drop's size and SHA-256, move it into blob
// storage and mark the drop ready.
func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	d, unlock, ok := s.lockOwnDrop(w, r)
	if !ok {
		return
	}
	defer unlock()
	s.completeDrop(w, r, d)
}

// completeDrop completes drop d (a sender's drop or a reply) whose upload
// lock the caller holds.
func (s *Server) completeDrop(w http.ResponseWriter, r *http.Request, d *Drop) {
	// Reload under the lock: a concurrent complete may have finished.
	d, err := s.store.Drop(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "load drop", err)
		return
	}
	switch st := d.StateAt(s.now()); st {
	case StateReady:
		writeJSON(w, http.StatusOK, relayapi.CompleteResponse{ID: d.ID, State: StateReady, Checkpoint: s.lastCheckpoint()})
		return
	case StatePending:
	default:
		writeJSON(w, http.StatusGone, relayapi.Error{Error: "drop is " + st, State: st})
		return
	}
	// A blob already in place means an earlier complete stored it and
	// stopped before marking the drop ready (crash): check it and finish.
	// Where uploads finish in place, the blob is checked as the upload.
	recovered := false
	offset, size, exists, err := s.uploads.state(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "upload state", err)
		return
	}
	if !s.uploads.inPlace() || !exists {
		if recovered, err = s.blobMatches(r, d); err != nil {
			s.internalError(w, r, "check stored blob", err)
			return
		}
	}
	if !recovered {
		if !exists || offset < size {
			writeError(w, http.StatusConflict, fmt.Sprintf("upload unfinished: %d of %d bytes received", offset, d.Size))
			return
		}
		n, sum, err := s.uploads.hash(r.Context(), d.ID)
		if err != nil {
			s.internalError(w, r, "hash upload", err)
			return
		}
		if n != d.Size || sum != d.SHA256 {
			err := s.uploads.remove(r.Context(), d.ID)
			if s.uploads.inPlace() {
				err = errors.Join(err, s.blobs.Delete(r.Context(), d.ID))
			}
			if err != nil {
				s.log.ErrorContext(r.Context(), "remove rejected upload", "drop", d.ID, "err", err)
			}
			if err := s.record(r.Context(), EventUploadRejected, d.ID, d.SenderID, 0); err != nil {
				s.internalError(w, r, "audit", err)
				return
			}
			s.metrics.uploadsRejected.Inc()
			writeError(w, http.StatusUnprocessableEntity, "uploaded data does not match the drop's size and sha256; upload again")
			return
		}
		// A reply is encrypted to the drop's sender only: the archive
		// rule is the sender organisation's, for what it sends.
		if err := s.checkArchiveUpload(r.Context(), d.ID); err != nil && !d.IsReply() {
			rmErr := s.uploads.remove(r.Context(), d.ID)
			if s.uploads.inPlace() {
				rmErr = errors.Join(rmErr, s.blobs.Delete(r.Context(), d.ID))
			}
			if err := rmErr; err != nil {
				s.log.ErrorContext(r.Context(), "remove rejected upload", "drop", d.ID, "err", err)
			}
			s.record(r.Context(), EventUploadRejected, d.ID, d.SenderID, 0)
			s.refusePolicy(w, r, err)
			return
		}
		if err := s.checkUploadRecipients(r.Context(), d); err != nil {
			if !errors.Is(err, ErrRecipientKeys) {
				s.internalError(w, r, "read key packets", err)
				return
			}
			s.rejectUpload(r, d)
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.uploads.commit(r.Context(), s.blobs, d.ID); err != nil {
			s.internalError(w, r, "store blob", err)
			return
		}
	}
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		var err error
		d, err = s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
			if d.State != StatePending {
				return errState{d.State}
			}
			d.State = StateReady
			d.ReadyAt = s.now().UTC()
			return s.record(ctx, EventComplete, d.ID, d.SenderID, 0)
		})
		return err
	})
	var es errState
	if errors.As(err, &es) {
		s.deleteBlob(r.Context(), d.ID)
		writeJSON(w, http.StatusGone, relayapi.Error{Error: es.Error(), State: es.state})
		return
	}
	if err != nil {
		s.internalError(w, r, "mark ready", err)
		return
	}
	s.metrics.dropsReady.Inc()
	s.metrics.bytesStored.Add(float64(d.Size))
	if d.IsReply() {
		s.metrics.replies.Inc()
		s.notifyReply(r.Context(), d)
	} else {
		s.notifyReady(d, s.baseURL(r))
	}
	writeJSON(w, http.StatusOK, relayapi.CompleteResponse{ID: d.ID, State: StateReady, Checkpoint: s.lastCheckpoint()})
}

// rejectUpload deletes a refused upload and records the refusal (best
// effort: the drop stays pending and nothing is stored).
func (s *Server) rejectUpload(r *http.Request, d *Drop) {
	err := s.uploads.remove(r.Context(), d.ID)
	if s.uploads.inPlace() {
		err = errors.Join(err, s.blobs.Delete(r.Context(), d.ID))
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "remove rejected upload", "drop", d.ID, "err", err)
	}
	if err := s.record(r.Context(), EventUploadRejected, d.ID, d.SenderID, 0); err != nil {
		s.log.ErrorContext(r.Context(), "audit", "err", err)
	}
	s.metrics.uploadsRejected.Inc()
}

// blobMatches reports whether the drop's blob is already stored with the
// right size and hash; a wrong one is deleted.
func (s *Server) blobMatches(r *http.Request, d *Drop) (bool, error) {
	b, size, err := s.blobs.Open(r.Context(), d.ID)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	h := sha256.New()
	n, err := io.Copy(h, b)
	b.Close()
	if err != nil {
		return false, err
	}
	if n == d.Size && size == d.Size && hex.EncodeToString(h.Sum(nil)) == d.SHA256 {
		return true, s.uploads.remove(r.Context(), d.ID)
	}
	return false, s.blobs.Delete(r.Context(), d.ID)
}
