package relay

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/sealprint/sealprint/relayapi"
)

// handleBlob serves GET /api/v1/drops/{id}/blob: the ciphertext, counted
// as one download.
func (s *Server) handleBlob(w http.ResponseWriter, r *http.Request) {
	d, ok := s.readyDrop(w, r)
	if !ok {
		return
	}
	if d.NeedsCode() && !checkGrant(s.cfg.GrantKey, d.ID, r.Header.Get(relayapi.HeaderGrant), s.now()) {
		writeError(w, http.StatusForbidden, "this drop needs an access code: post it to /code and send the grant")
		return
	}
	if r.Method == http.MethodHead {
		// Headers only; not a download.
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
		h.Set(relayapi.HeaderSHA256, d.SHA256)
		h.Set("Cache-Control", "no-store")
		return
	}
	blob, size, err := s.blobs.Open(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "open blob", err)
		return
	}
	defer blob.Close()
	if size != d.Size {
		s.internalError(w, r, "open blob", errors.New("stored blob has the wrong size"))
		return
	}
	d, err = s.store.UpdateDrop(r.Context(), d.ID, func(d *Drop) error {
		if st := d.StateAt(s.now()); st != StateReady {
			return errState{st}
		}
		d.Downloads++
		return s.record(r.Context(), EventDownload, d.ID, "", d.Downloads)
	})
	var es errState
	if errors.As(err, &es) {
		writeGone(w, es.state)
		return
	}
	if err != nil {
		s.internalError(w, r, "count download", err)
		return
	}
	s.metrics.downloads.Inc()
	if d.Downloads == 1 {
		s.notifySender(d, noticeOpened)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set(relayapi.HeaderSHA256, d.SHA256)
	h.Set(relayapi.HeaderReceiptToken, newReceiptToken(s.cfg.GrantKey, d.ID, d.Downloads))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, blob); err != nil {
		s.log.WarnContext(r.Context(), "download interrupted", "drop", d.ID, "err", err)
	}
}
