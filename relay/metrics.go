package relay

import (
	"net/http"

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
	mails           *prometheus.CounterVec
	bytesStored     prometheus.Counter
	requests        *prometheus.CounterVec
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
		bytesStored:     c("stored_bytes_total", "Ciphertext bytes accepted into blob storage."),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sealrelay",
			Name: "mails_total", Help: "Notification mails by result."}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sealrelay",
			Name: "http_requests_total", Help: "HTTP requests by method and status class."},
			[]string{"method", "code"}),
	}
	for _, col := range []prometheus.Collector{m.dropsCreated, m.uploadsCreated, m.uploadsRejected,
		m.dropsReady, m.downloads, m.codeFailures, m.dropsLocked, m.dropsRevoked, m.dropsExpired,
		m.receipts, m.bytesStored, m.mails, m.requests} {
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

func (s *Server) metricsHandler() http.Handler {
	if s.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
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
