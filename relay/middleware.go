package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/sealprint/sealprint/internal/redact"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// maxOtherBody bounds request bodies outside the upload endpoint (the
// JSON handlers apply their own, smaller limit).
const maxOtherBody = 1 << 20

// otherBodyTimeout bounds the time to read such a body.
var otherBodyTimeout = time.Minute // a variable for tests

// otherWriteTimeout bounds the time to write a response outside uploads
// and blob downloads (which may take long on slow links; tusd and the
// per-read deadlines bound those).
const otherWriteTimeout = 2 * time.Minute

type requestIDKey struct{}

// RequestID returns the id Wrap gave the request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Wrap adds what every response of sealrelay needs, whoever serves it:
// security headers, a request id (X-Request-Id, and in logs), a body size
// limit outside the upload endpoint, one log line per request (method,
// path, status, duration; never query strings, tokens or bodies) and
// request metrics. Use it around the whole mux.
func (s *Server) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		hd := w.Header()
		hd.Set("X-Request-Id", id)
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/api/v1/uploads") {
			// Small bodies must arrive promptly (uploads have tusd's
			// per-read timeouts instead).
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, maxOtherBody)
			}
			rc := http.NewResponseController(w)
			if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
				// Only while the body is read: net/http's background
				// read of the connection, hitting a deadline left set,
				// cancels the request's context, which cut every
				// download from the bucket and every completion that
				// took over the deadline (a slow link, a loaded relay).
				rc.SetReadDeadline(time.Now().Add(otherBodyTimeout))
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
			if !strings.HasSuffix(r.URL.Path, "/blob") {
				// A reader that never reads its answer does not hold the
				// connection forever.
				rc.SetWriteDeadline(time.Now().Add(otherWriteTimeout))
			}
		}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		kind := routeKind(r)
		s.metrics.inFlight.WithLabelValues(kind).Inc()
		var body *countingBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &countingBody{ReadCloser: r.Body}
			r.Body = body
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "panic", p)
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "internal error")
				}
			}
			s.metrics.requests.WithLabelValues(r.Method, statusClass(rec.status)).Inc()
			s.metrics.inFlight.WithLabelValues(kind).Dec()
			s.metrics.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
			s.metrics.bytesOut.Add(float64(rec.bytes))
			if body != nil {
				s.metrics.bytesIn.Add(float64(body.n))
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", redact.Path(r.URL.Path)), // no query, no tokens or addresses
				slog.Int("status", rec.status),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)))
		}()
		h.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// deadlineBody lifts the connection's read deadline once the body has
// been read to its end (or failed).
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's sendfile path for downloads.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote = true
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (tusd sets
// read deadlines through it).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush forwards to the underlying writer.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// requestIDHandler adds the request id of the context to every record, so
// any log line written while serving a request names it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
