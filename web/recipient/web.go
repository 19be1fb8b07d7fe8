// Package recipient serves the recipient's page: GET /d/{id} answers a small HTML
// page that downloads the sealed document from the relay's API, decrypts
// and verifies it in the browser with the vendored OpenPGP.js, shows it and
// posts a receipt. The server side only serves fixed, embedded files: the
// link's secret (the URL fragment) never reaches it.
//
// Mount the handler on "/d/": it serves the page and its files under
// StaticPrefix.
//
// For automation, the page's root element carries data-state: loading,
// ready (link mode: waiting for the "Open the document" click; nothing is
// downloaded before it), code (access code asked), key (recipient's key
// asked), decrypted, error,
// locked, expired (also revoked and exhausted drops). data-reason names the
// explanation shown (expired, exhausted, revoked, notfound, nosecret,
// badsecret, badsig, corrupt, network, insecure, browser, pending, locked).
// Once decrypted it carries data-sha256 (of the plaintext, as printed by
// `sealprint send`) and then data-receipt ("sent" or "failed"); after a key
// is created and published in the page, data-key-published holds its
// fingerprint. For a PDF, data-pdfsig gives the verdict on its own PAdES
// signature (static/pdfsig.js): checking, then none, valid, modified,
// invalid or error; unchecked for a document streamed to a file.
package recipient

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
)

// Options configures the page handler.
type Options struct {
	// TestHooks lets the page expose the decrypted bytes to scripts
	// (window.sealprintTest), for browser tests only. Never set it in
	// production.
	TestHooks bool
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

// handler serves the page and its assets.
type handler struct {
	assets assets
	page   *page
	log    *slog.Logger
}

// embedded is computed once: the files are fixed at build time.
var embedded, embeddedErr = loadAssets()

// NewHandler returns the handler for GET /d/{id} and the page's files under
// StaticPrefix. It panics if the embedded files are inconsistent, which the
// package's tests rule out.
func NewHandler(opts Options) http.Handler {
	if embeddedErr != nil {
		panic("web: " + embeddedErr.Error())
	}
	p, err := renderPage(embedded, opts.TestHooks)
	if err != nil {
		panic("web: " + err.Error())
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &handler{assets: embedded, page: p, log: log}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, StaticPrefix); ok {
		h.serveAsset(w, r, name)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/d/")
	id = strings.TrimSuffix(id, "/")
	if !ok || !relayapi.ValidDropID(id) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.servePage(w, r)
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", h.page.csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(h.page.html)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(h.page.html); err != nil {
		h.log.Debug("write page", "err", err)
	}
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.assets[name]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	if workerScripts[name] {
		hd.Set("Content-Security-Policy", workerPolicy)
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		h.log.Debug("write asset", "name", name, "err", err)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}
