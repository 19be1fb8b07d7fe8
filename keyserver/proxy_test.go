package keyserver

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Behind a trusted reverse proxy, the per-client limit keys on the client
// named in X-Forwarded-For, not on the proxy (one bucket for everyone),
// and a client cannot pick its own name by prepending addresses.
func TestLimitsBehindTrustedProxy(t *testing.T) {
	ts := newTestServer(t, func(o *Options) {
		o.RequestsPerClient = 2
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	post := func(xff string) int {
		req, _ := http.NewRequest("POST", ts.URL+"/manage", strings.NewReader(`{"email":"nobody@x.example"}`))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 2 {
		if c := post("198.51.100.1"); c != 200 {
			t.Fatalf("request %d of client 1: %d", i, c)
		}
	}
	if c := post("198.51.100.1"); c != http.StatusTooManyRequests {
		t.Fatalf("client 1 over its limit: %d", c)
	}
	if c := post("203.0.113.7, 198.51.100.1"); c != http.StatusTooManyRequests {
		t.Fatalf("client 1 posing as another by prepending: %d", c)
	}
	if c := post("198.51.100.2"); c != 200 {
		t.Fatalf("another client behind the same proxy: %d", c)
	}
}

// Untrusted peers' X-Forwarded-For is ignored.
func TestForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.RequestsPerClient = 1 })
	for i, want := range []int{200, http.StatusTooManyRequests} {
		req, _ := http.NewRequest("POST", ts.URL+"/manage", strings.NewReader(`{"email":"nobody@x.example"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// A limiter whose table is full of fresh windows still admits a new key
// (it forgets the oldest) instead of refusing everyone.
func TestLimiterFullTableAdmitsNewKeys(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(1, time.Hour, func() time.Time { return now })
	l.maxKeys = 3
	for _, k := range []string{"a", "b", "c"} {
		if !l.allow(k) {
			t.Fatal(k)
		}
		now = now.Add(time.Second)
	}
	if !l.allow("d") {
		t.Fatal("a full table locked a new client out")
	}
	if l.allow("d") || l.allow("c") {
		t.Fatal("limits no longer apply to the clients kept")
	}
	if len(l.windows) > 3 {
		t.Fatalf("table grew to %d", len(l.windows))
	}
}
