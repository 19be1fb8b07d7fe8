package jobs

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sealprint/sealprint/spooler"
)

// On a PC shared by several accounts (RDS, Citrix, a ward's PC) loopback
// does not say who is asking: the page and the API need the user's secret,
// a random value in a 0600 file of the user's own state dir. 'sealprint
// jobs --open' opens the page as /jobs?key=SECRET; the page turns it into
// a cookie and drops it from the address bar. The API takes it as a
// bearer token.

// cookieName holds the secret in the browser after the first visit.
const cookieName = "sealprint_jobs"

// SecretFile is the name of the per-user secret file in the state dir.
const SecretFile = "jobs-secret"

// LoadOrCreateSecret returns the secret kept in dir/jobs-secret, creating
// it (mode 0600) on first use.
func LoadOrCreateSecret(dir string) (string, error) {
	p := filepath.Join(dir, SecretFile)
	b, err := os.ReadFile(p)
	if err == nil {
		if s := strings.TrimSpace(string(b)); len(s) >= 32 {
			// Windows has ACLs, not modes: Go reports every writable
			// file as 0666 there, so only Unix modes are checked.
			if st, err := os.Stat(p); err == nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
				return "", fmt.Errorf("jobs secret %s is readable by others (mode %v): remove it and restart", p, st.Mode().Perm())
			}
			return s, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("jobs secret: %w", err)
	}
	s := randomToken()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("jobs secret: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("jobs secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("jobs secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("jobs secret: %w", err)
	}
	return s, f.Close()
}

// secretOK compares a presented secret with the configured one in
// constant time; no configured secret admits nobody.
func (w *web) secretOK(got string) bool {
	return w.opt.APIToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(w.opt.APIToken)) == 1
}

// pageAuth admits the page's requests: a valid ?key= sets the cookie and
// redirects to the same page without it; else the cookie must hold the
// secret. It writes the refusal itself.
func (w *web) pageAuth(rw http.ResponseWriter, r *http.Request) bool {
	if key := r.URL.Query().Get("key"); key != "" && r.Method == http.MethodGet {
		if !w.secretOK(key) {
			w.refusePage(rw)
			return false
		}
		http.SetCookie(rw, &http.Cookie{Name: cookieName, Value: key, Path: "/jobs",
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
		q := r.URL.Query()
		q.Del("key")
		target := r.URL.Path
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		http.Redirect(rw, r, target, http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie(cookieName); err == nil && w.secretOK(c.Value) {
		return true
	}
	w.refusePage(rw)
	return false
}

func (w *web) refusePage(rw http.ResponseWriter) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(rw, "Ouvrez cette page avec la commande « sealprint jobs --open » (ou le raccourci « Mes envois »).\n"+
		"Open this page with the command 'sealprint jobs --open'.\n")
}

// mine reports whether job j belongs to the page's user (Options.User; any
// job when it is empty). Names compare without case and without a
// DOMAIN\ prefix or @realm suffix, as Windows and CUPS spell them.
func (w *web) mine(j *spooler.Job) bool {
	return Owns(w.opt.User, j)
}

// Owns reports whether job j was printed by user (compared as the page
// does: without case, DOMAIN\ prefix or @realm suffix); an empty user owns
// every job.
func Owns(user string, j *spooler.Job) bool {
	return user == "" || sameUser(j.User, user)
}

func sameUser(a, b string) bool {
	norm := func(s string) string {
		if i := strings.LastIndexByte(s, '\\'); i >= 0 {
			s = s[i+1:]
		}
		if i := strings.IndexByte(s, '@'); i >= 0 {
			s = s[:i]
		}
		return strings.ToLower(strings.TrimSpace(s))
	}
	return a != "" && norm(a) == norm(b)
}
