package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/sealprint/sealprint/spooler"
)

// A printed job to an address written to for the first time is held with
// the fingerprint of the key found for it (spooler.NeedsConfirmation). The
// page offers to confirm exactly that key: the form posts the address and
// the fingerprint it shows, they must be the ones the job is held for, and
// Options.ConfirmKey pins it (as 'sealprint keys lookup ADDR
// --accept-new-key FPR' does) before the job is released.

// KeyToConfirm is the first key of an address a held job waits for.
type KeyToConfirm struct {
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
}

// heldKeyRe reads the address and fingerprint from the reason a job is
// held for, as keyserver.Resolve words it ("ADDR is written to for the
// first time; its key FPR comes from …").
var heldKeyRe = regexp.MustCompile(`([^\s;:,()<>"]+@[^\s;:,()<>"]+) is written to for the first time; its key ([0-9A-Fa-f]{32,64}) comes from`)

// keyToConfirm returns the key held job j waits for, or nil.
func keyToConfirm(j *spooler.Job) *KeyToConfirm {
	if j == nil || j.State != spooler.Held || j.Error == "" {
		return nil
	}
	m := heldKeyRe.FindStringSubmatch(j.Error)
	if m == nil {
		return nil
	}
	return &KeyToConfirm{Address: strings.ToLower(m[1]), Fingerprint: strings.ToUpper(m[2])}
}

// normalizeFingerprint drops spaces and upper-cases a fingerprint as typed
// or shown in groups.
func normalizeFingerprint(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

var (
	errNoKeyToConfirm  = errors.New("this job waits for no key to confirm")
	errKeyMismatch     = errors.New("the key posted is not the one this job is held for: nothing was pinned")
	errConfirmDisabled = errors.New("keys cannot be confirmed from this page")
)

// confirmKey pins the key job id is held for, if address and fingerprint
// name exactly that key, and releases the job to its recipients.
func (w *web) confirmKey(ctx context.Context, id, address, fingerprint string) error {
	if w.opt.ConfirmKey == nil {
		return errConfirmDisabled
	}
	if !spooler.ValidID(id) {
		return spooler.ErrNotFound
	}
	j, err := w.s.Get(id)
	if err != nil || !w.mine(j) {
		return spooler.ErrNotFound
	}
	k := keyToConfirm(j)
	if k == nil {
		return errNoKeyToConfirm
	}
	if normalizeFingerprint(fingerprint) != k.Fingerprint || !strings.EqualFold(strings.TrimSpace(address), k.Address) {
		w.opt.Logger.Warn("key confirmation refused: not the key the job is held for", "job", id)
		return errKeyMismatch
	}
	if err := w.opt.ConfirmKey(ctx, k.Address, k.Fingerprint); err != nil {
		w.opt.Logger.Warn("key confirmation failed", "job", id, "err", err)
		return &notPinnedError{err}
	}
	_, err = w.s.Release(ctx, id, j.Recipients)
	return err
}

// confirmForm handles POST /jobs/ID/confirm-key once the form checks
// (origin, secret, CSRF) passed.
func (w *web) confirmForm(rw http.ResponseWriter, r *http.Request) {
	l := requestLang(r)
	var np *notPinnedError
	err := w.confirmKey(r.Context(), r.PathValue("id"), r.PostForm.Get("address"), r.PostForm.Get("fingerprint"))
	switch {
	case errors.Is(err, errKeyMismatch):
		w.render(rw, l, http.StatusBadRequest, l.T("err.keymismatch"), "")
	case errors.Is(err, errNoKeyToConfirm):
		w.render(rw, l, http.StatusConflict, l.T("err.nokey"), "")
	case errors.As(err, &np):
		w.render(rw, l, http.StatusBadGateway, l.T("err.notpinned")+" "+np.err.Error(), "")
	case err != nil:
		w.render(rw, l, statusOf(err), err.Error(), "")
	default:
		http.Redirect(rw, r, "/jobs?done="+url.QueryEscape("release"), http.StatusSeeOther)
	}
}

// notPinnedError is ConfirmKey's failure: nothing was pinned or released.
type notPinnedError struct{ err error }

func (e *notPinnedError) Error() string { return "the key could not be pinned: " + e.err.Error() }
func (e *notPinnedError) Unwrap() error { return e.err }
