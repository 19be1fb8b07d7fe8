package jobs

import (
	"errors"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/spooler"
)

// preview streams a held job's rendered PDF (GET /jobs/preview/ID),
// decrypted from the spool as it is sent, for the page's viewer. Nothing
// is written to disk. Only this page may frame it, and only a same-origin
// or direct request gets it.
func (w *web) preview(rw http.ResponseWriter, r *http.Request) {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if !w.pageAuth(rw, r) {
		return
	}
	id := r.PathValue("id")
	if !spooler.ValidID(id) {
		http.NotFound(rw, r)
		return
	}
	if j, err := w.s.Get(id); err != nil || !w.mine(j) {
		http.Error(rw, requestLang(r).T("preview.gone"), http.StatusNotFound)
		return
	}
	rc, err := w.s.OpenPDF(id)
	switch {
	case errors.Is(err, spooler.ErrNotFound), errors.Is(err, spooler.ErrNoPreview):
		http.Error(rw, requestLang(r).T("preview.gone"), http.StatusNotFound)
		return
	case err != nil:
		w.opt.Logger.Warn("preview", "job", id, "err", err)
		http.Error(rw, "preview unavailable", http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	h := rw.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", `inline; filename="preview.pdf"`)
	// The browser's PDF viewer needs its own resources; the page alone
	// may frame it.
	h.Set("Content-Security-Policy", "frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	if _, err := io.Copy(rw, rc); err != nil {
		w.opt.Logger.Warn("preview interrupted", "job", id, "err", err)
	}
}
