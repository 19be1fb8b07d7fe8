// Package jobs is the sender's desk on the PC: the local jobs page served
// by 'sealprint serve' (GET /jobs), its JSON API, the client 'sealprint
// jobs' uses to speak it, and the desktop notifications about jobs. It
// reads and drives a spooler.Spooler; the queue itself knows nothing of
// HTML or HTTP.
package jobs

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// Contact is an address-book entry offered on the release page.
type Contact struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Fingerprint string `json:"fingerprint"`
}

// Options configures the local jobs page and API.
type Options struct {
	// AddressBook lists the recipients offered on the page (may be nil).
	AddressBook func() []Contact
	// APIToken is the user's secret (see auth.go): required as
	// "Authorization: Bearer" on /jobs/api, and on the page as ?key= once,
	// then as a cookie. Empty admits nobody.
	APIToken string
	// User, if set, is whose jobs the page and the API show and act on:
	// jobs printed with another requesting-user-name are not listed and
	// are answered as unknown.
	User string
	// AllowAll lets the API list every user's jobs on request
	// (GET /jobs/api?all=1): set when the service runs as root or an
	// administrator, whose secret only such an account can read.
	AllowAll bool
	// Defaults fill and bound the release form.
	Defaults SendDefaults
	// Chaser, if set, marks the jobs it chased.
	Chaser *Chaser
	// Policy, if set, returns the relay's sending policy: the form shows
	// and enforces it (the relay enforces it again).
	Policy func(ctx context.Context) (relayapi.Policy, error)
	// ConfirmKey, if set, pins fingerprint as the key of address, a key
	// seen for the first time (as 'sealprint keys lookup ADDR
	// --accept-new-key FPR' does); it must fail unless the key found for
	// address now has exactly that fingerprint. The page then offers to
	// confirm the key a held job waits for (see confirm.go).
	ConfirmKey func(ctx context.Context, address, fingerprint string) error
	// PIN, if set, takes the PDF signing card's PIN from the page's PIN
	// form and the API (see pin.go).
	PIN PINEntry
	// Replies, if set, lets the page decrypt the recipients' replies on
	// this computer (see reply.go).
	Replies ReplyOpener
	Logger  *slog.Logger
}

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// Handler returns the local jobs page (GET /jobs, forms posted to
// /jobs/ID/ACTION) and the JSON API used by 'sealprint jobs'
// (GET /jobs/api, GET /jobs/api/ID, POST /jobs/api/ID/{release,cancel,retry}),
// and a held job's PDF for the page's viewer (GET /jobs/preview/ID).
// Every request must come from loopback with a loopback Host header (no DNS
// rebinding); forms carry a CSRF token and must not come from another
// origin; the API needs the bearer token.
func Handler(sp *spooler.Spooler, opt Options) http.Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &web{s: sp, opt: opt, csrf: randomToken()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs", w.page)
	mux.HandleFunc("GET /jobs/{$}", w.page)
	mux.HandleFunc("POST /jobs/{id}/{action}", w.form)
	mux.HandleFunc("POST /jobs/pin", w.pinForm)
	mux.HandleFunc("POST /jobs/api/pin", w.apiPIN)
	mux.HandleFunc("GET /jobs/preview/{id}", w.preview)
	mux.HandleFunc("GET /jobs/api", w.apiList)
	mux.HandleFunc("GET /jobs/api/{id}", w.apiGet)
	mux.HandleFunc("POST /jobs/api/{id}/{action}", w.apiAction)
	return w.guard(mux)
}

type web struct {
	s    *spooler.Spooler
	opt  Options
	csrf string
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("jobs: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewAPIToken returns a fresh random token for Options.APIToken.
func NewAPIToken() string { return randomToken() }

// guard admits only loopback clients addressing a loopback host.
func (w *web) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: with no-referrer Chromium sends
		// "Origin: null" for the page's own forms, which the origin checks
		// (here and in the printer) rightly refuse. Other sites still get
		// no Referer.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if !loopbackAddr(r.RemoteAddr) || !loopbackHost(r.Host) {
			http.Error(rw, "the jobs page is only served to this computer", http.StatusForbidden)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// loopbackHost checks the Host header: a DNS-rebinding page would send its
// own host name.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type pageData struct {
	// L is the page's language: {{$.L.T "key"}}, {{$.L.Date .Created}}.
	L        Lang
	Held     []JobView
	Others   []JobView
	Contacts []Contact
	CSRF     string
	Error    string
	Notice   string
	// Code is an access code shown once, right after its release.
	Code     string
	Defaults SendDefaults
	// Policy is the relay's, when known.
	Policy relayapi.Policy
	// PINWait are the jobs waiting for the card's PIN: the page shows
	// the PIN form above them.
	PINWait []JobView
	// CanOpenReplies: the page decrypts replies itself (Options.Replies).
	CanOpenReplies bool
}

func (w *web) page(rw http.ResponseWriter, r *http.Request) {
	if !w.pageAuth(rw, r) {
		return
	}
	l := requestLang(r)
	if q := r.URL.Query().Get("lang"); q == string(l) {
		// The switch was used: remember it for the next visits.
		http.SetCookie(rw, &http.Cookie{Name: langCookie, Value: q, Path: "/jobs", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	w.render(rw, l, http.StatusOK, "", r.URL.Query().Get("done"))
}

func (w *web) renderCode(rw http.ResponseWriter, l Lang, code string) {
	w.renderData(rw, http.StatusOK, pageData{L: l, CSRF: w.csrf, Notice: l.T("done.release"), Code: code})
}

// render shows the page with an error, or the notice of a done action
// ("release", "cancel", "retry"; anything else shows none).
func (w *web) render(rw http.ResponseWriter, l Lang, status int, errMsg, done string) {
	d := pageData{L: l, CSRF: w.csrf, Error: errMsg}
	switch done {
	case "release", "cancel", "retry", "pin":
		d.Notice = l.T("done." + done)
	}
	w.renderData(rw, status, d)
}

func (w *web) renderData(rw http.ResponseWriter, status int, d pageData) {
	l := d.L
	d.Defaults = w.opt.Defaults
	d.CanOpenReplies = w.opt.Replies != nil
	d.Policy = w.policy(context.Background())
	if m := d.Policy.MaxExpirySeconds; m > 0 && (d.Defaults.MaxExpiry == 0 || time.Duration(m)*time.Second < d.Defaults.MaxExpiry) {
		d.Defaults.MaxExpiry = time.Duration(m) * time.Second
		if d.Defaults.Expiry > d.Defaults.MaxExpiry || (d.Defaults.Expiry == 0 && d.Defaults.MaxExpiry < 7*24*time.Hour) {
			d.Defaults.Expiry = d.Defaults.MaxExpiry
		}
	}
	if w.opt.AddressBook != nil {
		d.Contacts = w.opt.AddressBook()
	}
	jobs := w.s.List()
	slices.Reverse(jobs) // newest first
	for _, j := range jobs {
		if !w.mine(j) {
			continue
		}
		if NeedsPIN(j) {
			d.PINWait = append(d.PINWait, w.view(j, l))
		} else if j.State == spooler.Held {
			d.Held = append(d.Held, w.view(j, l))
		} else {
			d.Others = append(d.Others, w.view(j, l))
		}
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	if err := pageTmpl.Execute(rw, d); err != nil {
		w.opt.Logger.Error("jobs page", "err", err)
	}
}

// view is ViewIn with the chases given.
func (w *web) view(j *spooler.Job, l Lang) JobView {
	v := ViewIn(j, w.s.PageURL(), l)
	v.Chased = w.opt.Chaser.Marks(j.ID)
	return v
}

// maxForm bounds a posted form or API body.
const maxForm = 64 << 10

// formChecks admits a form posted by the page itself: same origin, the
// user's secret, the page's CSRF token. It writes the refusal itself.
func (w *web) formChecks(rw http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			http.Error(rw, "cross-origin request refused", http.StatusForbidden)
			return false
		}
	} else if o == "null" {
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
		return false
	}
	if !w.pageAuth(rw, r) {
		return false
	}
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(rw, "bad form", http.StatusBadRequest)
		return false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(w.csrf)) != 1 {
		http.Error(rw, requestLang(r).T("err.expired"), http.StatusForbidden)
		return false
	}
	return true
}

func (w *web) form(rw http.ResponseWriter, r *http.Request) {
	if !w.formChecks(rw, r) {
		return
	}
	if r.PathValue("action") == "confirm-key" {
		w.confirmForm(rw, r)
		return
	}
	if r.PathValue("action") == "reply" {
		w.replyForm(rw, r)
		return
	}
	var req ActionRequest
	if r.PathValue("action") == "release" {
		var err error
		if req, err = formRelease(r.PostForm); err != nil {
			w.render(rw, requestLang(r), http.StatusBadRequest, err.Error(), "")
			return
		}
	}
	code, err := w.act(r, r.PathValue("id"), r.PathValue("action"), req)
	if err != nil {
		w.render(rw, requestLang(r), statusOf(err), err.Error(), "")
		return
	}
	if code != "" {
		// The code is shown once, in this answer only (never in a URL).
		w.renderCode(rw, requestLang(r), code)
		return
	}
	http.Redirect(rw, r, "/jobs?done="+url.QueryEscape(r.PathValue("action")), http.StatusSeeOther)
}

// act performs a release, cancel or retry; a release with an access code
// for the sender returns the code.
func (w *web) act(r *http.Request, id, action string, req ActionRequest) (string, error) {
	if !spooler.ValidID(id) {
		return "", spooler.ErrNotFound
	}
	if j, err := w.s.Get(id); err != nil || !w.mine(j) {
		return "", spooler.ErrNotFound
	}
	var err error
	switch action {
	case "release":
		var rel spooler.Release
		if rel, err = w.release(req, requestLang(r)); err != nil {
			return "", err
		}
		if _, err = w.s.ReleaseWith(r.Context(), id, rel); err != nil {
			return "", err
		}
		return rel.AccessCode, nil
	case "cancel":
		_, err = w.s.Cancel(r.Context(), id)
	case "retry":
		_, err = w.s.Retry(r.Context(), id)
	default:
		return "", errUnknownAction
	}
	return "", err
}

var errUnknownAction = errors.New("unknown action")

func statusOf(err error) int {
	var se *spooler.StateError
	switch {
	case errors.Is(err, spooler.ErrNotFound), errors.Is(err, errUnknownAction):
		return http.StatusNotFound
	case errors.As(err, &se):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func (w *web) authAPI(rw http.ResponseWriter, r *http.Request) bool {
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !w.secretOK(got) {
		writeJSON(rw, http.StatusUnauthorized, apiError{"missing or wrong API token"})
		return false
	}
	return true
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

func (w *web) apiList(rw http.ResponseWriter, r *http.Request) {
	if !w.authAPI(rw, r) {
		return
	}
	views := []JobView{}
	l := acceptLang(r.Header.Get("Accept-Language"))
	all := r.URL.Query().Get("all") == "1"
	if all && !w.opt.AllowAll && w.opt.User != "" {
		writeJSON(rw, http.StatusForbidden, apiError{l.T("cli.all.service")})
		return
	}
	for _, j := range w.s.List() {
		if all || w.mine(j) {
			views = append(views, w.view(j, l))
		}
	}
	writeJSON(rw, http.StatusOK, views)
}

func (w *web) apiGet(rw http.ResponseWriter, r *http.Request) {
	if !w.authAPI(rw, r) {
		return
	}
	j, err := w.s.Get(r.PathValue("id"))
	if err == nil && !w.mine(j) {
		err = spooler.ErrNotFound
	}
	if err != nil {
		writeJSON(rw, http.StatusNotFound, apiError{err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, w.view(j, acceptLang(r.Header.Get("Accept-Language"))))
}

func (w *web) apiAction(rw http.ResponseWriter, r *http.Request) {
	if !w.authAPI(rw, r) {
		return
	}
	var req ActionRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxForm)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			writeJSON(rw, http.StatusBadRequest, apiError{"bad JSON body"})
			return
		}
	}
	id := r.PathValue("id")
	code, err := w.act(r, id, r.PathValue("action"), req)
	if err != nil {
		writeJSON(rw, statusOf(err), apiError{err.Error()})
		return
	}
	j, err := w.s.Get(id)
	if err != nil {
		writeJSON(rw, http.StatusNotFound, apiError{err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, ActionResult{JobView: w.view(j, acceptLang(r.Header.Get("Accept-Language"))), AccessCode: code})
}
