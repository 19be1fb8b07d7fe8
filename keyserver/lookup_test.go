package keyserver

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// routeAll sends every request to target, keeping the Host header, as if
// DNS pointed every domain at the test server.
type routeAll struct{ target *url.URL }

func (r routeAll) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Host = req.URL.Host
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

func clientTo(t testing.TB, ts *testServer) *http.Client {
	u, _ := url.Parse(ts.URL)
	return &http.Client{Transport: routeAll{u}}
}

// publishVerified puts e in ts's directory with every address verified.
func (ts *testServer) publishVerified(t testing.TB, e *openpgp.Entity) {
	t.Helper()
	c, err := ParseCert(strings.NewReader(armorPublic(t, e)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(t.Context(), ts.store, []*Cert{c}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
}

type memPins map[string]string

func (m memPins) Pinned(e string) (string, bool) { f, ok := m[e]; return f, ok }
func (m memPins) Pin(e, f string) error          { m[e] = f; return nil }

func TestLookupRelayThenWKD(t *testing.T) {
	relay := newTestServer(t, nil)
	domain := newTestServer(t, nil) // the recipient organisation's WKD
	client := clientTo(t, domain)   // every host except the relay URL lands on the WKD server

	onRelay := newEntity(t, "R", "r@police.example")
	relay.publishVerified(t, onRelay)
	onWKD := newEntity(t, "W", "w@police.example")
	domain.publishVerified(t, onWKD)

	// The relay is reached by its URL, which routeAll also redirects, so
	// use a plain client for the relay-only case.
	armored, src, err := Lookup(t.Context(), http.DefaultClient, relay.URL, "R@Police.example")
	if err != nil || !strings.HasPrefix(src, relay.URL+"/vks/v1/by-email/") {
		t.Fatalf("relay lookup: %v from %s", err, src)
	}
	c, _ := ParseCert(strings.NewReader(string(armored)))
	if c.Fingerprint() != hexOf(onRelay.PrimaryKey.Fingerprint) {
		t.Fatal("wrong key from relay")
	}

	armored, src, err = Lookup(t.Context(), client, "", "w@police.example")
	if err != nil || !strings.HasPrefix(src, "https://openpgpkey.police.example/.well-known/openpgpkey/police.example/hu/") {
		t.Fatalf("WKD lookup: %v from %s", err, src)
	}
	c, _ = ParseCert(strings.NewReader(string(armored)))
	if c.Fingerprint() != hexOf(onWKD.PrimaryKey.Fingerprint) {
		t.Fatal("wrong key from WKD")
	}

	if _, _, err := Lookup(t.Context(), client, "", "nobody@police.example"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("unknown address: %v", err)
	}
}

func TestLookupRefusesRevokedAndExpired(t *testing.T) {
	relay := newTestServer(t, nil)
	revoked := newEntity(t, "Rv", "rv@x.example")
	relay.publishVerified(t, revoked)
	revoked.RevokeKey(packet.KeyCompromised, "lost", nil)
	relay.upload(t, armorPublic(t, revoked))
	if _, _, err := Lookup(t.Context(), http.DefaultClient, relay.URL, "rv@x.example"); !errors.Is(err, ErrKeyUnusable) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked key: %v", err)
	}

	past := time.Now().Add(-48 * time.Hour)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return past }, KeyLifetimeSecs: 3600}
	expired, err := openpgp.NewEntity("Ex", "", "ex@x.example", cfg)
	if err != nil {
		t.Fatal(err)
	}
	relay.publishVerified(t, expired)
	if _, _, err := Lookup(t.Context(), http.DefaultClient, relay.URL, "ex@x.example"); !errors.Is(err, ErrKeyUnusable) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired key: %v", err)
	}
}

func TestResolvePinsAndRefusesChange(t *testing.T) {
	relay := newTestServer(t, nil)
	first := newEntity(t, "N", "newuser@x.example")
	relay.publishVerified(t, first)
	pins := memPins{}
	r, err := Resolve(t.Context(), http.DefaultClient, relay.URL, "newuser@x.example", pins, nil)
	if err != nil || !r.FirstUse || pins["newuser@x.example"] != r.Fingerprint {
		t.Fatalf("first use: %+v %v %v", r, err, pins)
	}
	r, err = Resolve(t.Context(), http.DefaultClient, relay.URL, "newuser@x.example", pins, nil)
	if err != nil || r.FirstUse {
		t.Fatalf("second use: %+v %v", r, err)
	}
	// The server now offers another key for the address.
	relay.publishVerified(t, newEntity(t, "N2", "newuser@x.example"))
	_, err = Resolve(t.Context(), http.DefaultClient, relay.URL, "newuser@x.example", pins, nil)
	if !errors.Is(err, ErrKeyChanged) || !strings.Contains(err.Error(), "KEY CHANGED") {
		t.Fatalf("changed key: %v", err)
	}
	if pins["newuser@x.example"] != hexOf(first.PrimaryKey.Fingerprint) {
		t.Fatal("pin replaced without the user's consent")
	}
}
