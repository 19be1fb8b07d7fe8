package relay

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the relay's Prometheus series. None carries an id or an
// address.
type metrics struct {
	dropsCreated    prometheus.Counter
	uploadsCreated  prometheus.Counter
	uploadsRejected prometheus.Counter
	dropsReady      prometheus.Counter
	downloads       prometheus.Counter
	codeFailures    prometheus.Counter
	dropsLocked     prometheus.Counter
	dropsRevoked    prometheus.Counter
	dropsExpired    prometheus.Counter
	receipts        prometheus.Counter
	replies         prometheus.Counter
	mails           *prometheus.CounterVec
	bytesStored     prometheus.Counter
	requests        *prometheus.CounterVec
	// Added for running several replicas.
	duration   *prometheus.HistogramVec
	bytesIn    prometheus.Counter
	bytesOut   prometheus.Counter
	errors     *prometheus.CounterVec
	inFlight   *prometheus.GaugeVec
	sweepQueue prometheus.Gauge
	lockWaits  prometheus.Counter
	lockWait   prometheus.Histogram
	// hashRereads counts completions that read the upload back for its
	// SHA-256 (no state saved while receiving covered it).
	hashRereads prometheus.Counter
}

// routeKind names a request's kind for metric labels (never its id).
func routeKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/uploads"):
		return "upload"
	case strings.HasSuffix(p, "/blob") && strings.HasPrefix(p, "/api/v1/drops/"):
		return "download"
	case strings.HasPrefix(p, "/api/"):
		return "api"
	default:
		return "other"
	}
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "sealrelay", Name: name, Help: help})
	}
	m := &metrics{
		dropsCreated:    c("drops_created_total", "Drops created."),
		uploadsCreated:  c("uploads_created_total", "Resumable uploads created."),
		uploadsRejected: c("uploads_rejected_total", "Completed uploads rejected for a size or hash mismatch."),
		dropsReady:      c("drops_ready_total", "Drops whose ciphertext was verified and stored."),
		downloads:       c("downloads_total", "Ciphertext downloads."),
		codeFailures:    c("code_failures_total", "Wrong access codes."),
		dropsLocked:     c("drops_locked_total", "Drops locked after too many wrong codes."),
		dropsRevoked:    c("drops_revoked_total", "Drops revoked by their sender."),
		dropsExpired:    c("drops_expired_total", "Drops deleted by the expiry sweeper."),
		receipts:        c("receipts_total", "Receipts posted by recipients."),
		replies:         c("replies_total", "Replies uploaded and verified."),
		bytesStored:     c("stored_bytes_total", "Ciphertext bytes accepted into blob storage."),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sealrelay",
			Name: "mails_total", Help: "Notification mails by result."}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sealrelay",
			Name: "http_requests_total", Help: "HTTP requests by method and status class."},
			[]string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sealrelay",
			Name: "http_request_duration_seconds", Help: "Request latency by kind (upload, download, api, other).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"kind"}),
		bytesIn:  c("received_bytes_total", "Request body bytes read (uploads and API)."),
		bytesOut: c("sent_bytes_total", "Response body bytes written (downloads and API)."),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sealrelay",
			Name: "errors_total", Help: "Internal errors by what failed."}, []string{"what"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sealrelay",
			Name: "requests_in_flight", Help: "Requests being served, by kind."}, []string{"kind"}),
		sweepQueue: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "sealrelay",
			Name: "sweep_queue", Help: "Drops the last sweep found to delete."}),
		lockWaits: c("upload_lock_waits_total", "Upload lock acquisitions that had to wait for another request or replica."),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "sealrelay",
			Name: "upload_lock_wait_seconds", Help: "Time taken to acquire an upload lock.",
			Buckets: []float64{.001, .01, .1, .5, 1, 5, 20}}),
		hashRereads: c("upload_hash_rereads_total", "Completed uploads read back for their SHA-256 because no hash state saved while receiving covered them."),
	}
	for _, col := range []prometheus.Collector{m.dropsCreated, m.uploadsCreated, m.uploadsRejected,
		m.dropsReady, m.downloads, m.codeFailures, m.dropsLocked, m.dropsRevoked, m.dropsExpired,
		m.receipts, m.bytesStored, m.mails, m.requests, m.duration, m.bytesIn, m.bytesOut, m.errors,
		m.inFlight, m.sweepQueue, m.lockWaits, m.lockWait, m.hashRereads} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	// Process and Go runtime metrics, unless the registry has them already.
	for _, col := range []prometheus.Collector{collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(col); err != nil {
			if _, dup := err.(prometheus.AlreadyRegisteredError); !dup {
				return nil, err
			}
		}
	}
	return m, nil
}

// MetricsHandler serves the Prometheus metrics, unauthenticated: mount it
// on a private listener only.
func (s *Server) MetricsHandler() http.Handler {
	if s.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
}

// metricsHandler is /metrics on the public handler: 404 without a
// configured token, else the bearer token is required.
func (s *Server) metricsHandler() http.Handler {
	inner := s.MetricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.MetricsToken == "" {
			writeError(w, http.StatusNotFound, "no such endpoint")
			return
		}
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.MetricsToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeError(w, http.StatusUnauthorized, "metrics need the metrics token")
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// statusClass maps a status code to "2xx", "4xx"… to keep label sets small.
func statusClass(code int) string {
	switch {
	case code < 200:
		return "1xx"
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	default:
		return "5xx"
	}
}
