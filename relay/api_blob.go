package relay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/sealprint/sealprint/relayapi"
)

// handleBlob serves GET /api/v1/drops/{id}/blob: the ciphertext, counted
// as one download. A single byte range may be asked for: one starting at 0
// (or none) counts a download and answers a download token; one starting
// further continues that download and must carry the token.
func (s *Server) handleBlob(w http.ResponseWriter, r *http.Request) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return
	}
	rng, ranged, err := parseRange(r.Header.Get("Range"), d.Size)
	if err != nil {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(d.Size, 10))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "one range within the blob, as bytes=START-END")
		return
	}
	continuing := ranged && rng.start > 0 && r.Method == http.MethodGet
	switch st := d.StateAt(s.now()); {
	case st == StateReady:
	case st == StatePending:
		writeError(w, http.StatusConflict, "drop not ready yet")
		return
	case st == StateExhausted && d.State != StateExhausted && continuing:
		// The download that used up the limit may still be read to its end.
	default:
		writeGone(w, st)
		return
	}
	if continuing {
		n, ok := checkDownloadToken(s.cfg.GrantKey, d.ID, r.Header.Get(relayapi.HeaderDownload), s.now())
		if !ok {
			writeError(w, http.StatusForbidden, "a range past the start continues a download: send its "+relayapi.HeaderDownload+" token")
			return
		}
		if d.StateAt(s.now()) == StateExhausted && n != d.Downloads {
			writeGone(w, StateExhausted) // only the download that used up the limit goes on
			return
		}
	} else if d.NeedsCode() && !checkGrant(s.cfg.GrantKey, d.ID, r.Header.Get(relayapi.HeaderGrant), s.now()) {
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
	if !ranged {
		rng = byteRange{0, d.Size}
	}
	blob, size, positioned, err := s.openBlob(r.Context(), d.ID, rng, ranged)
	if err != nil {
		s.internalError(w, r, "open blob", err)
		return
	}
	defer blob.Close()
	if size != d.Size {
		s.internalError(w, r, "open blob", errors.New("stored blob has the wrong size"))
		return
	}
	h := w.Header()
	if !continuing {
		// One conditional UPDATE counts the download (exact across
		// replicas); its record commits with it.
		now := s.now()
		var counted bool
		err = s.atomically(r.Context(), func(ctx context.Context) error {
			var err error
			d, counted, err = s.store.CountDownload(ctx, d.ID, now, func(d *Drop) error {
				return s.record(ctx, EventDownload, d.ID, "", d.Downloads)
			})
			return err
		})
		if err != nil {
			s.internalError(w, r, "count download", err)
			return
		}
		if !counted {
			writeGone(w, d.StateAt(now))
			return
		}
		s.metrics.downloads.Inc()
		if d.Downloads == 1 {
			s.notifySender(d, noticeOpened)
		}
		exp := s.now().Add(downloadTokenTTL)
		if exp.After(d.ExpiresAt) {
			exp = d.ExpiresAt
		}
		h.Set(relayapi.HeaderDownload, newDownloadToken(s.cfg.GrantKey, d.ID, d.Downloads, exp))
	}
	if ranged {
		s.reading.touch(d.ID, s.now())
	}
	if !positioned {
		if err := skipTo(blob, rng.start); err != nil {
			s.internalError(w, r, "seek blob", err)
			return
		}
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(rng.end-rng.start, 10))
	h.Set(relayapi.HeaderSHA256, d.SHA256)
	h.Set(relayapi.HeaderReceiptToken, newReceiptToken(s.cfg.GrantKey, d.ID, d.Downloads))
	h.Set("Cache-Control", "no-store")
	h.Set("Accept-Ranges", "bytes")
	status := http.StatusOK
	if ranged {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(rng.start, 10)+"-"+strconv.FormatInt(rng.end-1, 10)+"/"+strconv.FormatInt(size, 10))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if err := sendBlob(w, blob, rng.end-rng.start); err != nil {
		s.log.WarnContext(r.Context(), "download interrupted", "drop", d.ID, "err", err)
	}
}

// copyBufs are the buffers of downloads not served from a file.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// sendBlob writes n bytes of blob to w. A file goes through the
// response's ReadFrom (sendfile); so does a body read directly from the
// bucket's socket (splice). Anything else (an S3 answer by the SDK) is copied
// through one pooled buffer: ReadFrom would take a pooled buffer and
// then allocate another 32 KiB per download, which at 1,000 concurrent
// downloads is 32 MiB more of heap.
func sendBlob(w http.ResponseWriter, blob io.Reader, n int64) error {
	if _, ok := blob.(*os.File); ok {
		_, err := io.CopyN(w, blob, n)
		return err
	}
	if db, ok := blob.(*directBody); ok {
		// The headers first, so that the response's ReadFrom goes
		// straight to the connection's (splice) with no first bytes
		// copied through a buffer.
		if err := http.NewResponseController(w).Flush(); err != nil {
			return err
		}
		got, err := db.WriteTo(w)
		if err == nil && got < n {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	got, err := io.CopyBuffer(writerOnly{w}, io.LimitReader(blob, n), *buf)
	if err == nil && got < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// writerOnly hides a writer's ReadFrom from io.CopyBuffer.
type writerOnly struct{ io.Writer }

// rangeOpener is implemented by blob stores that read part of a blob
// without reading what comes before it (S3: a ranged GetObject).
type rangeOpener interface {
	// OpenRange returns bytes [start, end) of the blob and the blob's
	// whole size.
	OpenRange(ctx context.Context, id string, start, end int64) (io.ReadCloser, int64, error)
}

// openBlob opens the blob for the range asked for (a whole download is
// the range of the whole blob). positioned reports whether the reader
// already starts at rng.start (else the caller skips to it); a store that
// reads ranges is asked for exactly rng, so that no byte before it (nor
// after it) is fetched.
func (s *Server) openBlob(ctx context.Context, id string, rng byteRange, ranged bool) (io.ReadCloser, int64, bool, error) {
	if ro, ok := s.blobs.(rangeOpener); ok && (ranged || rng.end > rng.start) {
		b, size, err := ro.OpenRange(ctx, id, rng.start, rng.end)
		return b, size, true, err
	}
	b, size, err := s.blobs.Open(ctx, id)
	return b, size, false, err
}
