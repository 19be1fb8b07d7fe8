package printer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the IPP print service. It is an http.Handler serving IPP on
// /ipp/print/<queue>, the printer icon, and any handler added with Handle.
type Server struct {
	cfg   Config
	sp    Spooler
	mux   *http.ServeMux
	jobs  *jobStore
	start time.Time

	configMu   sync.Mutex
	configTime time.Time // printer-config-change-time basis
	lastQueues string
	stateTime  time.Time // printer-state-change-time basis
	lastState  string

	peerUnsupported sync.Once // logs once that Peers cannot identify
}

// New returns a Server handing documents to sp. It fails if cfg asks for
// a non-loopback listener without AllowRemote and Authenticate.
func New(cfg Config, sp Spooler) (*Server, error) {
	if sp == nil {
		return nil, errors.New("printer: nil spooler")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	now := cfg.Now()
	s := &Server{
		cfg:        cfg,
		sp:         sp,
		mux:        http.NewServeMux(),
		start:      now,
		configTime: now,
		stateTime:  now,
	}
	s.jobs = newJobStore(cfg.MaxJobs, cfg.Now, cfg.MultipleOperationTimeout)
	s.mux.HandleFunc("POST /ipp/print", s.serveIPP)
	s.mux.HandleFunc("POST /ipp/print/{queue}", s.serveIPP)
	s.mux.HandleFunc("POST /ipp/print/{queue}/{job}", s.serveIPP)
	s.mux.HandleFunc("GET /ipp/print", s.serveInfo)
	s.mux.HandleFunc("GET /ipp/print/{queue}", s.serveInfo)
	s.mux.HandleFunc("GET /icons/printer.png", serveIcon)
	s.mux.HandleFunc("GET /{$}", s.serveInfo)
	return s, nil
}

// Handle registers another handler on the same listener (for example the
// local job release page). Patterns follow http.ServeMux; they must not
// collide with /ipp/print, /icons/printer.png or the exact path "/".
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// ServeHTTP checks who the client is and dispatches the request. A Host
// that does not name the listener or a foreign Origin is refused with 403
// (see origin.go). Clients from non-loopback addresses must authenticate
// (HTTP Basic) and are refused when no Authenticate function is configured.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r) {
		s.cfg.Logger.Warn("request refused: Host does not name this printer (DNS rebinding?)", "method", r.Method, "remote", r.RemoteAddr)
		http.Error(w, "this printer answers only to its own names (127.0.0.1, localhost)", http.StatusForbidden)
		return
	}
	if !s.originAllowed(r) {
		s.cfg.Logger.Warn("request refused: foreign Origin", "method", r.Method, "remote", r.RemoteAddr)
		http.Error(w, "requests from other web sites are refused", http.StatusForbidden)
		return
	}
	if !isLoopbackRemote(r.RemoteAddr) {
		if s.cfg.Authenticate == nil {
			http.Error(w, "remote printing is not enabled", http.StatusForbidden)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || !s.cfg.Authenticate(user, pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="sealprint", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// ListenAndServe listens on Config.Listen and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("printer: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve serves IPP on l until ctx is done, then shuts down gracefully
// (waiting up to 5 s for requests in flight). It closes l.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if tl, ok := l.Addr().(*net.TCPAddr); ok && !tl.IP.IsLoopback() {
		if !s.cfg.AllowRemote || s.cfg.Authenticate == nil {
			l.Close()
			return fmt.Errorf("printer: listener %s is not loopback: remote printing must be enabled with authentication", l.Addr())
		}
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       withPeerMemo,
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close()
			}
		case <-done:
		}
	}()
	err := hs.Serve(l)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("printer: serve: %w", err)
}

// isLoopbackRemote reports whether an http.Request.RemoteAddr is loopback.
func isLoopbackRemote(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
