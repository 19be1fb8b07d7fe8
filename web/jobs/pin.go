package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sealprint/sealprint/spooler"
)

// When the PDF signer is a PKCS#11 token (the doctor's card) and no PIN is
// known to this session, signing does not touch the card: the job is held
// with ErrPINRequired (spooler.NeedsConfirmation) and the page asks for
// the PIN (POST /jobs/pin, or POST /jobs/api/pin for 'sealprint jobs
// pin'). Options.PIN logs in once with it; on success the waiting jobs are
// sealed again, on a refusal the token's words are shown and nothing is
// tried again until the user enters a PIN again.

// ErrPINRequired is the reason a job waits for the card's PIN. The signer
// returns it wrapped in spooler.NeedsConfirmation; the page recognises the
// held job by its words.
var ErrPINRequired = errors.New("PIN de la carte requis / the card's PIN is required to sign the PDF: enter it on the jobs page or with 'sealprint jobs pin'")

// PINEntry is the PDF signer's side of the PIN form.
type PINEntry interface {
	// EnterPIN logs in to the token once with pin and keeps it in memory
	// for the session if the token takes it. A refusal is the token's
	// error (a *pdfsign.PINError says how many tries are left when the
	// card reports it); the PIN is then forgotten.
	EnterPIN(ctx context.Context, pin string) error
}

// maxPIN bounds a PIN (PKCS#11 tokens take at most a few dozen bytes).
const maxPIN = 64

// NeedsPIN reports whether job j waits for the card's PIN.
func NeedsPIN(j *spooler.Job) bool {
	return j != nil && j.State == spooler.Held && strings.Contains(j.Error, ErrPINRequired.Error())
}

var errPINDisabled = errors.New("no PIN is asked for here: the PDF signer is not a card")

// checkPIN refuses what no token would take, before it reaches the card.
func checkPIN(pin string) error {
	if pin == "" || len(pin) > maxPIN || !utf8.ValidString(pin) {
		return errors.New("PIN: 1 to 64 characters")
	}
	for _, r := range pin {
		if r < 0x20 || r == 0x7f {
			return errors.New("PIN: no control characters")
		}
	}
	return nil
}

// enterPIN hands pin to the signer (one login) and, if it took it, seals
// again the jobs of this page's user that waited for it. It returns how
// many jobs went on.
func (w *web) enterPIN(ctx context.Context, pin string) (int, error) {
	if w.opt.PIN == nil {
		return 0, errPINDisabled
	}
	if err := checkPIN(pin); err != nil {
		return 0, err
	}
	if err := w.opt.PIN.EnterPIN(ctx, pin); err != nil {
		// The token's words, never the PIN.
		w.opt.Logger.Warn("the card refused the PIN entered on the jobs page", "err", err)
		return 0, err
	}
	n := 0
	for _, j := range w.s.List() {
		if !NeedsPIN(j) || !w.mine(j) {
			continue
		}
		rel := spooler.Release{To: j.Recipients, Options: j.SendOptionsOf(), LinkSecret: j.LinkSecret, LinkSecrets: j.LinkSecrets, AccessCode: j.AccessCode}
		if _, err := w.s.ReleaseWith(ctx, j.ID, rel); err != nil {
			w.opt.Logger.Warn("job waiting for the PIN not resumed", "job", j.ID, "err", err)
			continue
		}
		n++
	}
	w.opt.Logger.Info("card PIN entered on the jobs page", "jobs_resumed", n)
	return n, nil
}

// pinForm handles POST /jobs/pin from the page's PIN form.
func (w *web) pinForm(rw http.ResponseWriter, r *http.Request) {
	if !w.formChecks(rw, r) {
		return
	}
	l := requestLang(r)
	if _, err := w.enterPIN(r.Context(), r.PostForm.Get("pin")); err != nil {
		w.render(rw, l, pinStatus(err), l.T("pin.refused")+" "+err.Error(), "")
		return
	}
	http.Redirect(rw, r, "/jobs?done=pin", http.StatusSeeOther)
}

// PINRequest is the body of POST /jobs/api/pin.
type PINRequest struct {
	PIN string `json:"pin"`
}

// PINResult answers POST /jobs/api/pin: how many waiting jobs went on.
type PINResult struct {
	Resumed int `json:"resumed"`
}

func (w *web) apiPIN(rw http.ResponseWriter, r *http.Request) {
	if !w.authAPI(rw, r) {
		return
	}
	var req PINRequest
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 4<<10)).Decode(&req); err != nil {
		writeJSON(rw, http.StatusBadRequest, apiError{"bad JSON body"})
		return
	}
	n, err := w.enterPIN(r.Context(), req.PIN)
	if err != nil {
		writeJSON(rw, pinStatus(err), apiError{err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, PINResult{Resumed: n})
}

func pinStatus(err error) int {
	if errors.Is(err, errPINDisabled) {
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// EnterPIN gives the running service the card's PIN for its session.
func (c *Client) EnterPIN(ctx context.Context, pin string) (PINResult, error) {
	var out PINResult
	err := c.do(ctx, http.MethodPost, "/jobs/api/pin", &PINRequest{PIN: pin}, &out)
	return out, err
}
