package keyserver

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
)

// Options configures the directory's HTTP handler. Zero values get the
// documented defaults.
type Options struct {
	// PublicURL is the relay's external base URL, used in mailed links
	// (e.g. https://relay.example.org). Required to send verification mail.
	PublicURL string
	// Mail sends verification and management mail. Nil disables publishing
	// by mail (request-verify answers 503); admin import still works.
	Mail mail.Sender
	// MailFrom is the From address of those mails.
	MailFrom string
	// AllowedDomains restricts which domains may publish ("*": any) when
	// the store keeps no list of its own (DomainPolicy, set at run time by
	// 'sealrelay keys domains'); when both are empty, DefaultDomains apply.
	AllowedDomains []string
	// DefaultDomains may publish when neither AllowedDomains nor the store
	// say (sealrelay serve: the domain of its --mail-from). Empty: any.
	DefaultDomains []string
	// TokenTTL is the lifetime of mailed links (default 24 h).
	TokenTTL time.Duration
	// UploadTokenTTL is the lifetime of an upload token (default 1 h).
	UploadTokenTTL time.Duration
	// MailsPerAddress bounds the mails sent to one address per MailWindow
	// (default 3 per hour).
	MailsPerAddress int
	// MailWindow is the window of MailsPerAddress (default 1 h).
	MailWindow time.Duration
	// RequestsPerClient bounds uploads, verification and management
	// requests per client IP per minute (default 60).
	RequestsPerClient int
	// MailsPerClient bounds the mails one client IP can cause per
	// MailWindow, whatever the addresses (default 20).
	MailsPerClient int
	// TrustedProxies are the reverse proxies (nginx, haproxy) in front of
	// the directory: for a request from one of them, the client is the
	// last address in X-Forwarded-For that is not itself a trusted proxy.
	// Without them, limits would key on the proxy, one global bucket.
	TrustedProxies []netip.Prefix
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of token randomness (default crypto/rand).
	Rand io.Reader
	// Logger receives one line per change (default slog.Default()). Tokens
	// and addresses are never logged.
	Logger *slog.Logger
}

// Handler serves the key directory. Create it with NewHandler.
type Handler struct {
	dir     *directory
	opts    Options
	mux     *http.ServeMux
	perAddr *limiter
	perIP   *limiter
	mailIP  *limiter
	log     *slog.Logger
}

// Paths are the URL path prefixes the directory serves; Mount registers
// them on a mux.
var Paths = []string{"/vks/", "/pks/", "/.well-known/openpgpkey/", "/verify/", "/manage"}

// Mount registers h on mux under every path in Paths.
func Mount(mux *http.ServeMux, h http.Handler) {
	for _, p := range Paths {
		mux.Handle(p, h)
		if !strings.HasSuffix(p, "/") {
			mux.Handle(p+"/", h)
		}
	}
}

// NewHandler returns the HTTP handler of the directory stored in store.
func NewHandler(store Store, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.UploadTokenTTL == 0 {
		opts.UploadTokenTTL = time.Hour
	}
	if opts.MailsPerAddress == 0 {
		opts.MailsPerAddress = 3
	}
	if opts.MailWindow == 0 {
		opts.MailWindow = time.Hour
	}
	if opts.RequestsPerClient == 0 {
		opts.RequestsPerClient = 60
	}
	if opts.MailsPerClient == 0 {
		opts.MailsPerClient = 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	h := &Handler{
		dir:     &directory{store: store, domains: opts.AllowedDomains, defaults: opts.DefaultDomains, now: opts.Now},
		opts:    opts,
		mux:     http.NewServeMux(),
		perAddr: newLimiter(opts.MailsPerAddress, opts.MailWindow, opts.Now),
		perIP:   newLimiter(opts.RequestsPerClient, time.Minute, opts.Now),
		mailIP:  newLimiter(opts.MailsPerClient, opts.MailWindow, opts.Now),
		log:     opts.Logger,
	}
	m := h.mux
	m.HandleFunc("GET /vks/v1/by-fingerprint/{fpr}", h.byFingerprint)
	m.HandleFunc("GET /vks/v1/by-keyid/{keyid}", h.byKeyID)
	m.HandleFunc("GET /vks/v1/by-email/{email}", h.byEmail)
	m.HandleFunc("POST /vks/v1/upload", h.upload)
	m.HandleFunc("POST /vks/v1/request-verify", h.requestVerify)
	m.HandleFunc("GET /pks/lookup", h.hkpLookup)
	m.HandleFunc("POST /pks/add", h.hkpAdd)
	m.HandleFunc("GET /.well-known/openpgpkey/", h.wkd)
	m.HandleFunc("GET /verify/{token}", h.verifyPage)
	m.HandleFunc("POST /verify/{token}", h.verifyConfirm)
	m.HandleFunc("GET /manage", h.managePage)
	m.HandleFunc("POST /manage", h.manageRequest)
	m.HandleFunc("GET /manage/{token}", h.manageTokenPage)
	m.HandleFunc("POST /manage/{token}", h.manageConfirm)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// clientAllowed applies the per-client limit and answers 429 when it is
// exceeded.
func (h *Handler) clientAllowed(w http.ResponseWriter, r *http.Request) bool {
	if h.perIP.allow(h.clientIP(r)) {
		return true
	}
	w.Header().Set("Retry-After", "60")
	writeError(w, http.StatusTooManyRequests, "too many requests; try again in a minute")
	return false
}

// clientIP returns the IP address of the client: the connection's peer,
// or, when that is a trusted proxy, the right-most address of
// X-Forwarded-For that is not a trusted proxy (addresses further left are
// the client's to choose, so never believed).
func (h *Handler) clientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if ip, _, err := net.SplitHostPort(peer); err == nil {
		peer = ip
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !h.trusted(addr) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed chain: count it against the proxy
		}
		if !h.trusted(a.Unmap()) {
			return a.Unmap().String()
		}
	}
	return peer
}

// trusted reports whether a is one of the configured proxies.
func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.opts.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg} (the VKS and relay error shape).
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// readJSON decodes a size-limited JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request too large")
		} else {
			writeError(w, http.StatusBadRequest, "malformed JSON request")
		}
		return false
	}
	return true
}
