package relay

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// tusd sets the connection's read deadline through the response (to time
// out a slow body, and to "now" to cut a PATCH short when another request
// asks for its upload lock). That can happen after its handler has
// returned: the client, answered 204, has already sent its next request
// on the same connection (POST …/complete), whose context the deadline
// then cancels — a 500 under load. deadlineGuard lets tusd set deadlines
// only while its request is being served.
//
// A deadline of "now" set while the request is served, once its body has
// been read to the end, ends net/http's background read of the
// connection with an error, and that cancels the connection's context:
// every later request on it would start cancelled (a HEAD resuming an
// upload answered 500, again and again). So such an abort also asks for
// the connection to be closed after the answer. And once the body has
// been read to the end, the read deadline is cleared and tusd's later
// ones ignored: with nothing left to read they could only fire in that
// background read (a completion taking over tusd's network timeout would
// have had its own context cancelled).
type deadlineGuard struct {
	http.ResponseWriter
	mu      sync.Mutex
	done    bool
	bodyEnd bool // the request's body has been read to its end
	aborted bool // a read deadline of "now" or earlier was set
	wrote   bool // the answer's header has gone out
}

// serveGuarded runs h with a response whose deadlines stop reaching the
// connection once h returns.
func serveGuarded(h http.Handler, w http.ResponseWriter, r *http.Request) {
	g := &deadlineGuard{ResponseWriter: w}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &guardedBody{ReadCloser: r.Body, g: g}
	}
	defer func() {
		g.mu.Lock()
		g.done = true
		g.mu.Unlock()
	}()
	h.ServeHTTP(g, r)
	// A handler that wrote nothing is answered by net/http after this.
	g.beforeHeader()
}

func (g *deadlineGuard) SetReadDeadline(t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || g.bodyEnd {
		return nil
	}
	if !t.IsZero() && !t.After(time.Now()) {
		// Noted only: the header map belongs to the handler's goroutine,
		// and tusd sets this deadline from another one.
		g.aborted = true
	}
	return http.NewResponseController(g.ResponseWriter).SetReadDeadline(t)
}

// beforeHeader runs on the handler's goroutine just before the answer's
// header goes out: after an abort, it asks for the connection's close.
func (g *deadlineGuard) beforeHeader() {
	g.mu.Lock()
	closeConn := g.aborted && !g.wrote
	g.wrote = true
	g.mu.Unlock()
	if closeConn {
		g.ResponseWriter.Header().Set("Connection", "close")
	}
}

func (g *deadlineGuard) WriteHeader(code int) {
	if code >= 200 {
		g.beforeHeader()
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *deadlineGuard) Write(p []byte) (int, error) {
	g.beforeHeader()
	return g.ResponseWriter.Write(p)
}

func (g *deadlineGuard) SetWriteDeadline(t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return nil
	}
	return http.NewResponseController(g.ResponseWriter).SetWriteDeadline(t)
}

// FlushError sends the header as Write does (with the close after an
// abort) before flushing: a flush through Unwrap would send it without.
func (g *deadlineGuard) FlushError() error {
	g.beforeHeader()
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the response's other abilities
// (flushing, full duplex).
func (g *deadlineGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// guardedBody tells its guard when the request's body has been read to
// its end.
type guardedBody struct {
	io.ReadCloser
	g *deadlineGuard
}

// testHookBodyRead, set by tests only, runs after each read of a guarded
// body, before the guard notes the body's end: where net/http has already
// started its background read of the connection.
var testHookBodyRead func(g *deadlineGuard, err error)

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if testHookBodyRead != nil {
		testHookBodyRead(b.g, err)
	}
	if err == io.EOF {
		b.g.mu.Lock()
		if !b.g.bodyEnd && !b.g.done {
			b.g.bodyEnd = true
			http.NewResponseController(b.g.ResponseWriter).SetReadDeadline(time.Time{})
		}
		b.g.mu.Unlock()
	}
	return n, err
}
