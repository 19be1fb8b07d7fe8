// Package jobs is the sender's desk on the PC: the local jobs page served
// by 'sealprint serve' (GET /jobs), its JSON API, the client 'sealprint
// jobs' uses to speak it, and the desktop notifications about jobs. It
// reads and drives a spooler.Spooler; the queue itself knows nothing of
// HTML or HTTP.
package jobs

import (
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
	User   string
	Logger *slog.Logger
}

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
}).Parse(pageHTML))

// Handler returns the local jobs page (GET /jobs, forms posted to
// /jobs/ID/ACTION) and the JSON API used by 'sealprint jobs'
// (GET /jobs/api, GET /jobs/api/ID, POST /jobs/api/ID/{release,cancel,retry}).
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
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
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
	Held     []JobView
	Others   []JobView
	Contacts []Contact
	CSRF     string
	Error    string
	Notice   string
}

func (w *web) page(rw http.ResponseWriter, r *http.Request) {
	if !w.pageAuth(rw, r) {
		return
	}
	w.render(rw, http.StatusOK, "", r.URL.Query().Get("done"))
}

func (w *web) render(rw http.ResponseWriter, status int, errMsg, notice string) {
	d := pageData{CSRF: w.csrf, Error: errMsg}
	switch notice {
	case "release":
		d.Notice = "The job is on its way."
	case "cancel":
		d.Notice = "The job was canceled."
	case "retry":
		d.Notice = "The job will be tried again now."
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
		if j.State == spooler.Held {
			d.Held = append(d.Held, ViewAt(j, w.s.PageURL()))
		} else {
			d.Others = append(d.Others, ViewAt(j, w.s.PageURL()))
		}
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	if err := pageTmpl.Execute(rw, d); err != nil {
		w.opt.Logger.Error("jobs page", "err", err)
	}
}

// maxForm bounds a posted form or API body.
const maxForm = 64 << 10

func (w *web) form(rw http.ResponseWriter, r *http.Request) {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			http.Error(rw, "cross-origin request refused", http.StatusForbidden)
			return
		}
	} else if o == "null" {
		http.Error(rw, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if !w.pageAuth(rw, r) {
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(rw, "bad form", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(w.csrf)) != 1 {
		http.Error(rw, "the page has expired: reload it and try again", http.StatusForbidden)
		return
	}
	var to []string
	if r.PathValue("action") == "release" {
		to = append(to, r.PostForm["to"]...)
		to = append(to, strings.FieldsFunc(r.PostForm.Get("other"), func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\n' })...)
	}
	if err := w.act(r, r.PathValue("id"), r.PathValue("action"), to); err != nil {
		w.render(rw, statusOf(err), err.Error(), "")
		return
	}
	http.Redirect(rw, r, "/jobs?done="+url.QueryEscape(r.PathValue("action")), http.StatusSeeOther)
}

// act performs a release, cancel or retry.
func (w *web) act(r *http.Request, id, action string, to []string) error {
	if !spooler.ValidID(id) {
		return spooler.ErrNotFound
	}
	if j, err := w.s.Get(id); err != nil || !w.mine(j) {
		return spooler.ErrNotFound
	}
	var err error
	switch action {
	case "release":
		_, err = w.s.Release(r.Context(), id, to)
	case "cancel":
		_, err = w.s.Cancel(r.Context(), id)
	case "retry":
		_, err = w.s.Retry(r.Context(), id)
	default:
		return errUnknownAction
	}
	return err
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
	for _, j := range w.s.List() {
		if w.mine(j) {
			views = append(views, ViewAt(j, w.s.PageURL()))
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
	writeJSON(rw, http.StatusOK, ViewAt(j, w.s.PageURL()))
}

// ActionRequest is the body of POST /jobs/api/ID/release.
type ActionRequest struct {
	To []string `json:"to,omitempty"`
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
	if err := w.act(r, id, r.PathValue("action"), req.To); err != nil {
		writeJSON(rw, statusOf(err), apiError{err.Error()})
		return
	}
	j, err := w.s.Get(id)
	if err != nil {
		writeJSON(rw, http.StatusNotFound, apiError{err.Error()})
		return
	}
	writeJSON(rw, http.StatusOK, ViewAt(j, w.s.PageURL()))
}
