package keyserver

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// routeByHost sends requests for the relay's host to the relay and every
// other host to the recipient domain's WKD server, as DNS would.
type routeByHost struct{ relay, wkd *url.URL }

func (r routeByHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	target := r.wkd
	if req.URL.Host == r.relay.Host {
		target = r.relay
	}
	req.Host = req.URL.Host
	req.URL.Scheme, req.URL.Host = target.Scheme, target.Host
	return http.DefaultTransport.RoundTrip(req)
}

// A relay that serves its own key for an address whose domain publishes
// another cannot have it used: the send is refused naming both.
func TestFirstContactWKDFirstAndDisagreement(t *testing.T) {
	relay := newTestServer(t, nil)
	domain := newTestServer(t, nil)
	ru, _ := url.Parse(relay.URL)
	du, _ := url.Parse(domain.URL)
	client := &http.Client{Transport: routeByHost{relay: ru, wkd: du}}

	keyA := newEntity(t, "Cdt Martin", "martin@police.example")
	keyB := newEntity(t, "Cdt Martin", "martin@police.example") // the relay's substitute
	domain.publishVerified(t, keyA)
	relay.publishVerified(t, keyB)
	_, _, err := Lookup(t.Context(), client, relay.URL, "martin@police.example")
	if !errors.Is(err, ErrKeysDisagree) || !strings.Contains(err.Error(), hexOf(keyA.PrimaryKey.Fingerprint)) ||
		!strings.Contains(err.Error(), hexOf(keyB.PrimaryKey.Fingerprint)) {
		t.Fatalf("disagreeing sources: %v", err)
	}
	pins := memPins{}
	if _, err := Resolve(t.Context(), client, relay.URL, "martin@police.example", pins, nil); !errors.Is(err, ErrKeysDisagree) || len(pins) != 0 {
		t.Fatalf("resolve with disagreeing sources: %v, pins %v", err, pins)
	}

	// Both agree: the domain's answer is used.
	same := newEntity(t, "Lt Roux", "roux@police.example")
	domain.publishVerified(t, same)
	relay.publishVerified(t, same)
	if _, src, err := Lookup(t.Context(), client, relay.URL, "roux@police.example"); err != nil || !strings.Contains(src, "openpgpkey.police.example") {
		t.Fatalf("agreeing sources: %v from %s", err, src)
	}

	// Only the relay knows the address: never pinned without confirmation.
	only := newEntity(t, "Adj Blanc", "blanc@police.example")
	relay.publishVerified(t, only)
	r, err := Resolve(t.Context(), client, relay.URL, "blanc@police.example", pins, func(*Resolved) bool { return false })
	if !errors.Is(err, ErrNewKey) || r == nil || !r.OnlyRelay || len(pins) != 0 || !strings.Contains(err.Error(), "--accept-new-key "+hexOf(only.PrimaryKey.Fingerprint)) {
		t.Fatalf("relay-only key without confirmation: %+v %v %v", r, err, pins)
	}
	r, err = Resolve(t.Context(), client, relay.URL, "blanc@police.example", pins, func(r *Resolved) bool { return r.Fingerprint == hexOf(only.PrimaryKey.Fingerprint) })
	if err != nil || !r.FirstUse || pins["blanc@police.example"] != hexOf(only.PrimaryKey.Fingerprint) {
		t.Fatalf("confirmed key: %+v %v %v", r, err, pins)
	}
}

// A domain whose key directory cannot be reached is not a domain that
// publishes no key: the confirmation asked for says the domain's key was
// not compared, and why.
func TestFirstContactWKDUnreachableIsSaid(t *testing.T) {
	relay := newTestServer(t, nil)
	ru, _ := url.Parse(relay.URL)
	// The domain's hosts answer 503 (a broken or blocked WKD server).
	client := &http.Client{Transport: failWKD{routeByHost{relay: ru, wkd: ru}, ru.Host}}
	only := newEntity(t, "Adj Blanc", "blanc@police.example")
	relay.publishVerified(t, only)
	r, err := Resolve(t.Context(), client, relay.URL, "blanc@police.example", memPins{}, func(*Resolved) bool { return false })
	if !errors.Is(err, ErrNewKey) || r == nil || !r.OnlyRelay || r.WKDUnreachable == "" ||
		!strings.Contains(err.Error(), "could not be reached, so nothing was compared") || strings.Contains(err.Error(), "publishes no key") {
		t.Fatalf("unreachable WKD: %+v %v", r, err)
	}
	// A domain that answers 404 publishes no key, and is said so.
	domain := newTestServer(t, nil)
	du, _ := url.Parse(domain.URL)
	client = &http.Client{Transport: routeByHost{relay: ru, wkd: du}}
	r, err = Resolve(t.Context(), client, relay.URL, "blanc@police.example", memPins{}, func(*Resolved) bool { return false })
	if !errors.Is(err, ErrNewKey) || r.WKDUnreachable != "" || !strings.Contains(err.Error(), "its domain publishes no key") {
		t.Fatalf("WKD without the key: %+v %v", r, err)
	}
}

// failWKD answers 503 for every host but the relay's.
type failWKD struct {
	next  http.RoundTripper
	relay string
}

func (f failWKD) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != f.relay {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
			Body: http.NoBody, Header: http.Header{}, Request: req}, nil
	}
	return f.next.RoundTrip(req)
}
