package relay

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A deadline set through a response after its handler returned (as
// tusd does when a PATCH is asked to release its lock) does not reach
// the next request on the same connection.
func TestDeadlineGuardAfterReturn(t *testing.T) {
	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			var stale *http.ResponseController
			armed := make(chan struct{})
			first := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stale = http.NewResponseController(w)
				w.WriteHeader(http.StatusNoContent)
			})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/first" {
					guardIf(guarded, first).ServeHTTP(w, r)
					return
				}
				stale.SetReadDeadline(time.Now().Add(-time.Second))
				close(armed)
				if _, err := io.ReadAll(r.Body); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer ts.Close()
			c, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			fmt.Fprintf(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("first: %v %v", resp, err)
			}
			// The second request's body is sent once the stale deadline
			// is set, so that the handler has to read it from the
			// connection.
			fmt.Fprintf(c, "POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
			go func() { <-armed; io.Copy(c, strings.NewReader("hello")) }()
			resp, err = http.ReadResponse(br, nil)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if ok != guarded {
				t.Fatalf("second request: %v, %v (guarded %v)", resp.Status, err, guarded)
			}
		})
	}
}

// A deadline set to "now" while the handler runs, after its body was read
// to the end (tusd cutting a PATCH short when another request asks for the
// upload's lock), ends net/http's background read of the connection with
// an error, which cancels the connection's context and so every later
// request's on it. The guard closes such a connection after its answer:
// the client's next request, on a new connection, keeps its context.
func TestDeadlineGuardAbortClosesConnection(t *testing.T) {
	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			abort := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				http.NewResponseController(w).SetReadDeadline(time.Now())
				// Let the background read fail, as it does while tusd
				// finishes its answer.
				time.Sleep(50 * time.Millisecond)
				w.WriteHeader(http.StatusBadRequest)
			})
			_, statuses := patchThenHeads(t, guardIf(guarded, abort))
			for i, st := range statuses {
				if ok := st == http.StatusOK; ok != guarded {
					t.Fatalf("request %d after the abort: %d (guarded %v)", i, st, guarded)
				}
			}
		})
	}
}

// The close itself: an abort that lands after net/http has read the
// body's last bytes (and started its background read) but before the
// guard notes the body's end still reaches the connection; the guard
// then closes it after the answer, so the client's next requests go out
// on a new connection with a live context. The test hook puts tusd's
// abort, from another goroutine, in that window.
func TestDeadlineGuardAbortAtBodyEnd(t *testing.T) {
	testHookBodyRead = func(g *deadlineGuard, err error) {
		if err != io.EOF {
			return
		}
		done := make(chan struct{})
		go func() { g.SetReadDeadline(time.Now()); close(done) }()
		<-done
		time.Sleep(50 * time.Millisecond) // the background read fails
	}
	t.Cleanup(func() { testHookBodyRead = nil })
	patch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	closed, statuses := patchThenHeads(t, guardIf(true, patch))
	if !closed {
		t.Errorf("the aborted PATCH's answer does not close the connection")
	}
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("request %d after the abort: %d", i, st)
		}
	}
}

// patchThenHeads serves patch at /patch and, elsewhere, 200 unless the
// request arrives with its context already cancelled (500); it sends one
// PATCH-like POST, then three HEADs on the same client. It returns whether
// the POST's answer closed its connection, and the HEADs' statuses.
func patchThenHeads(t *testing.T, patch http.Handler) (closed bool, statuses []int) {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/patch" {
			patch.ServeHTTP(w, r)
			return
		}
		if err := r.Context().Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer ts.Close()
	client := ts.Client()
	resp, err := client.Post(ts.URL+"/patch", "application/offset+octet-stream", strings.NewReader("chunk"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closed = resp.Close || resp.Header.Get("Connection") == "close"
	for range 3 {
		resp, err := client.Head(ts.URL + "/head")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return closed, statuses
}

// A flush after an abort sends the close with the header, as a write does.
func TestDeadlineGuardFlushAfterAbort(t *testing.T) {
	rec := httptest.NewRecorder()
	serveGuarded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now()) // not supported by the recorder, noted all the same
		if err := rc.Flush(); err != nil {
			t.Fatal(err)
		}
	}), rec, httptest.NewRequest("GET", "/files/x", nil))
	if got := rec.Result().Header.Get("Connection"); got != "close" {
		t.Fatalf("Connection %q after an abort and a flush, want close", got)
	}
}

// A read deadline tusd sets once the body has been read to its end (its
// network timeout, renewed as it reads) does not cancel the request when
// the handler's work after the body outlasts it.
func TestDeadlineGuardAfterBody(t *testing.T) {
	for _, guarded := range []bool{true, false} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				http.NewResponseController(w).SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				time.Sleep(100 * time.Millisecond) // finishing the upload
				if err := r.Context().Err(); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				guardIf(guarded, slow).ServeHTTP(w, r)
			}))
			defer ts.Close()
			resp, err := ts.Client().Post(ts.URL, "application/offset+octet-stream", strings.NewReader("last chunk"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ok := resp.StatusCode == http.StatusNoContent; ok != guarded {
				t.Fatalf("%s (guarded %v)", resp.Status, guarded)
			}
		})
	}
}

// guardIf is h served through serveGuarded when guarded, else h itself:
// each test shows the failure unguarded and its absence guarded.
func guardIf(guarded bool, h http.Handler) http.Handler {
	if !guarded {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveGuarded(h, w, r) })
}
