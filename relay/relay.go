// Package relay is the sealrelay server: it stores sealed documents
// (OpenPGP ciphertext only) and hands them to their recipients under the
// drop's rules (expiry, download limit, access code, revocation). The HTTP
// contract is docs/relay-api.md.
package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	tushandler "github.com/tus/tusd/v2/pkg/handler"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/redact"
)

// Defaults and limits of the API.
const (
	DefaultMaxSize     = 2 << 30            // largest ciphertext accepted by default
	DefaultExpiry      = 7 * 24 * time.Hour // drop lifetime when the sender gives none
	MaxExpiry          = 30 * 24 * time.Hour
	DefaultDownloads   = 5
	MaxRecipients      = 50
	MaxCodeFailures    = 5 // wrong access codes before the drop locks
	GrantLifetime      = 5 * time.Minute
	maxJSONBody        = 64 << 10
	maxReceiptsPerDrop = 20
)

// Config configures a Server. Store, Blobs, Audit and UploadDir are
// required; the rest has defaults.
type Config struct {
	// Store keeps senders and drop metadata.
	Store Store
	// Blobs keeps ciphertext.
	Blobs Blobs
	// Audit records the audit trail.
	Audit Auditor
	// AuditKey signs proofs of delivery; its public half (the key of the
	// audit log's checkpoints) is served at
	// /.well-known/sealrelay/audit-key. Optional.
	AuditKey ed25519.PrivateKey
	// UploadDir holds unfinished resumable uploads (with S3 blobs: only
	// tusd's temporary part files).
	UploadDir string
	// Locker serializes access to one upload (default: in memory, right
	// for one process; replicas share a PostgreSQL locker).
	Locker tushandler.Locker
	// GrantKey signs download grants (32 random bytes; shared by replicas).
	GrantKey []byte
	// PublicURL is the relay's external base URL (https://relay.example);
	// when empty, links are built from the request's Host (sealrelay serve
	// allows that only on loopback).
	PublicURL string
	// MetricsToken, when set, lets /metrics on the public handler answer
	// requests with "Authorization: Bearer <MetricsToken>"; when empty the
	// public /metrics is 404 and metrics are served only by MetricsHandler
	// (sealrelay serve: on --metrics-listen, loopback by default).
	MetricsToken string
	// MaxSize is the largest ciphertext accepted (default DefaultMaxSize).
	MaxSize int64
	// PolicyFile is the organisation's policy (see LoadPolicy), read again
	// when it changes; "" means no policy.
	PolicyFile string
	// SMS, when set, delivers access codes by SMS (POST
	// /api/v1/drops/{id}/code/send).
	SMS *SMSGateway
	// Mail, when set, sends notifications; MailFrom is their sender address.
	Mail     mail.Sender
	MailFrom string
	// Logger receives one line per request and errors (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the randomness source (default crypto/rand.Reader).
	Rand io.Reader
	// Registerer receives the metrics (default: a private registry).
	Registerer prometheus.Registerer
	// CodeParams tunes the access-code hash (default DefaultCodeParams).
	CodeParams *CodeParams
}

// Server is the relay. It is an http.Handler for /api/v1/, /healthz and
// /metrics; use Mount to add it to a mux shared with other components.
type Server struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	rnd       io.Reader
	store     Store
	blobs     Blobs
	audit     Auditor
	uploads   uploadStore
	locker    tushandler.Locker
	txAudit   txRunner // set when store changes and audit records share transactions
	metrics   *metrics
	gatherer  prometheus.Gatherer
	code      CodeParams
	mux       *http.ServeMux
	mailWG    sync.WaitGroup
	chases    chaseCounts
	policy    *policySource
	codeSends codeSends
	reading   readingDrops
}

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Blobs == nil || cfg.Audit == nil || cfg.UploadDir == "" {
		return nil, errors.New("relay: Store, Blobs, Audit and UploadDir are required")
	}
	if len(cfg.GrantKey) < 32 {
		return nil, errors.New("relay: GrantKey must be at least 32 bytes")
	}
	s := &Server{cfg: cfg, store: cfg.Store, blobs: cfg.Blobs, audit: cfg.Audit, policy: &policySource{path: cfg.PolicyFile}}
	if r, ok := cfg.Store.(txRunner); ok {
		if a, ok := cfg.Store.(Auditor); ok && a == cfg.Audit {
			s.txAudit = r
		}
	}
	if cfg.Logger == nil {
		s.log = slog.New(slog.DiscardHandler)
	} else {
		s.log = slog.New(requestIDHandler{redact.Handler(cfg.Logger.Handler())})
	}
	s.now = cfg.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.rnd = cfg.Rand
	if s.rnd == nil {
		s.rnd = rand.Reader
	}
	if s.cfg.MaxSize <= 0 {
		s.cfg.MaxSize = DefaultMaxSize
	}
	s.code = DefaultCodeParams
	if cfg.CodeParams != nil {
		s.code = *cfg.CodeParams
	}
	reg := cfg.Registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, s.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		s.gatherer = g
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if err := s.initUploads(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s, nil
}

// routes registers the API on mux.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/drops", s.sender(s.handleCreate))
	mux.HandleFunc("POST /api/v1/enroll", s.handleEnroll)
	mux.HandleFunc("GET /api/v1/policy", s.handlePolicy)
	mux.HandleFunc("GET /api/v1/drops/{id}", s.handleInfo)
	mux.HandleFunc("DELETE /api/v1/drops/{id}", s.sender(s.handleRevoke))
	mux.HandleFunc("POST /api/v1/drops/{id}/complete", s.sender(s.handleComplete))
	mux.HandleFunc("GET /api/v1/drops/{id}/status", s.sender(s.handleStatus))
	mux.HandleFunc("GET /api/v1/drops/{id}/proof", s.sender(s.handleProof))
	mux.HandleFunc("POST /api/v1/drops/{id}/code", s.handleCode)
	mux.HandleFunc("POST /api/v1/drops/{id}/chase", s.sender(s.handleChase))
	mux.HandleFunc("POST /api/v1/drops/{id}/code/send", s.sender(s.handleCodeSend))
	mux.HandleFunc("GET /api/v1/drops/{id}/blob", s.handleBlob)
	mux.HandleFunc("POST /api/v1/drops/{id}/receipt", s.handleReceipt)
	mux.HandleFunc("POST /api/v1/drops/{id}/reply-grant", s.handleReplyGrant)
	mux.HandleFunc("POST /api/v1/drops/{id}/replies", s.handleCreateReply)
	mux.HandleFunc("GET /api/v1/drops/{id}/replies", s.sender(s.handleReplies))
	mux.HandleFunc("POST /api/v1/drops/{id}/replies/{rid}/complete", s.handleCompleteReply)
	mux.HandleFunc("GET /api/v1/drops/{id}/replies/{rid}/blob", s.sender(s.handleReplyBlob))
	tus := s.tusHandler()
	mux.Handle("/api/v1/uploads/", tus)
	mux.Handle("/api/v1/uploads", tus)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	}))
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.HandleFunc("GET /.well-known/sealrelay/audit-key", s.handleAuditKey)
	mux.Handle("GET /metrics", s.metricsHandler())
}

// Mount adds the relay's routes (/api/, /healthz, /readyz, /metrics,
// /.well-known/sealrelay/) to mux.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.Handle("/api/", s)
	mux.Handle("/healthz", s)
	mux.Handle("/readyz", s)
	mux.Handle("/metrics", s)
	mux.Handle("/.well-known/sealrelay/", s)
}

// ServeHTTP serves the relay's own routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Close waits for notification mails in flight.
func (s *Server) Close() error {
	s.mailWG.Wait()
	return nil
}

// handleHealth serves /healthz: the process is up and serving. Whether
// it can reach its database and bucket is /readyz.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// pinger is implemented by blob stores that can check they are reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// handleReady serves /readyz: 200 when the store and the blob storage
// answer, so that a load balancer sends no traffic to a replica that
// cannot serve it.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.ErrorContext(ctx, "readiness: database", "err", err)
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if p, ok := s.blobs.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			s.log.ErrorContext(ctx, "readiness: blobs", "err", err)
			http.Error(w, "blob storage unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ready\n")
}

// txRunner is implemented by stores whose changes and audit appends can
// share one transaction (PGStore).
type txRunner interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// atomically runs fn — a store change and the record of it, both made
// with the context fn is given — in one transaction when the store is
// also the audit trail (PostgreSQL), so that they commit together;
// otherwise (the embedded SQLite store and file log) it runs fn with the
// record written inside the store's update, the log's fsync shared by the
// store's batch (see syncSlot), and returns once both are durable.
func (s *Server) atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.txAudit != nil {
		return s.txAudit.InTx(ctx, fn)
	}
	// Audit records made in fn share the fsync of the store's batch that
	// commits fn's change; any left are synced before returning.
	sl := &syncSlot{}
	err := fn(withSyncSlot(ctx, sl))
	if serr := sl.finish(); err == nil {
		err = serr
	}
	return err
}

// record writes an audit event. Callers record before the change they
// record is committed (inside the store's update when there is one) and
// fail the request on error: no state change without its record.
func (s *Server) record(ctx context.Context, event, drop, sender string, count int) error {
	return s.recordEvent(ctx, AuditEvent{Event: event, Drop: drop, Sender: sender, Count: count})
}

// recordEvent appends e, stamped with the relay's clock, to the audit log.
func (s *Server) recordEvent(ctx context.Context, e AuditEvent) error {
	e.At = s.now()
	err := s.audit.Record(ctx, e)
	if err != nil {
		s.log.ErrorContext(ctx, "audit record failed", "event", e.Event, "drop", e.Drop, "err", err)
		return fmt.Errorf("%w: %v", errAudit, err)
	}
	return nil
}

// errAudit marks a failed audit write.
var errAudit = errors.New("audit log unavailable")

// checkpointer is an Auditor that signs checkpoints (AuditLog does).
type checkpointer interface {
	LastCheckpoint() *Checkpoint
}

// lastCheckpoint returns the audit log's latest signed checkpoint, if the
// auditor makes them.
func (s *Server) lastCheckpoint() *Checkpoint {
	if c, ok := s.audit.(checkpointer); ok {
		return c.LastCheckpoint()
	}
	return nil
}

func (s *Server) handleAuditKey(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.AuditKey) != ed25519.PrivateKeySize {
		writeError(w, http.StatusNotFound, "this relay has no audit key")
		return
	}
	writeJSON(w, http.StatusOK, NewAuditPublicKey(s.cfg.AuditKey.Public().(ed25519.PublicKey)))
}

// DataDir is the embedded deployment's layout inside one directory.
type DataDir struct {
	Root string
}

// DB is the SQLite database of drop metadata.
func (d DataDir) DB() string { return filepath.Join(d.Root, "relay.db") }

// Blobs is the directory of stored ciphertext.
func (d DataDir) Blobs() string { return filepath.Join(d.Root, "blobs") }

// Uploads is the directory of resumable uploads in progress.
func (d DataDir) Uploads() string { return filepath.Join(d.Root, "uploads") }

// AuditLog is the hash-chained audit log.
func (d DataDir) AuditLog() string { return filepath.Join(d.Root, "audit.log") }

// AuditKey is the file of the Ed25519 seed that signs audit checkpoints.
func (d DataDir) AuditKey() string { return filepath.Join(d.Root, "audit.key") }

// GrantKey is the file of the key that signs download grants.
func (d DataDir) GrantKey() string { return filepath.Join(d.Root, "grant.key") }

// Open opens (creating if needed) the embedded store, blobs, audit log and
// grant key of the data dir, and returns a Config using them. It first
// takes the data dir's lock (see Lock): while the returned closer is open,
// another Open of the same dir fails with a *DataDirBusyError. The caller
// closes the returned closer when done.
func (d DataDir) Open() (Config, io.Closer, error) {
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return Config{}, nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := d.Lock()
	if err != nil {
		return Config{}, nil, err
	}
	opened := closers{lock} // closed in reverse order on failure
	fail := func(err error) (Config, io.Closer, error) {
		opened.Close()
		return Config{}, nil, err
	}
	st, err := OpenSQLite(d.DB())
	if err != nil {
		return fail(err)
	}
	opened = append(opened, st)
	blobs, err := NewFileBlobs(d.Blobs())
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(d.Uploads(), 0o700); err != nil {
		return fail(fmt.Errorf("upload dir: %w", err))
	}
	auditKey, err := LoadOrCreateAuditKey(d.AuditKey())
	if err != nil {
		return fail(err)
	}
	audit, err := OpenSignedAuditLog(d.AuditLog(), auditKey, 0)
	if err != nil {
		return fail(err)
	}
	opened = append(opened, audit)
	key, err := loadOrCreateKey(d.GrantKey())
	if err != nil {
		return fail(err)
	}
	cfg := Config{Store: st, Blobs: blobs, Audit: audit, AuditKey: auditKey,
		UploadDir: d.Uploads(), GrantKey: key, PolicyFile: d.PolicyFile()}
	return cfg, opened, nil
}

// OpenStore opens only the metadata store of the data dir (for admin
// commands).
func (d DataDir) OpenStore() (*SQLiteStore, error) {
	if err := os.MkdirAll(d.Root, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return OpenSQLite(d.DB())
}

// closers closes its members last first.
type closers []io.Closer

func (c closers) Close() error {
	var errs []error
	for i := len(c) - 1; i >= 0; i-- {
		errs = append(errs, c[i].Close())
	}
	return errors.Join(errs...)
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("grant key %s: too short", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("grant key: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("grant key: %w", err)
	}
	return b, nil
}
