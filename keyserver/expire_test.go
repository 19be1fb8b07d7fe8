package keyserver

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// An uploaded key whose addresses nobody confirmed is deleted after 24 h;
// a verified one stays.
func TestUnverifiedUploadsExpire(t *testing.T) {
	now, advance := fixedClock(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC))
	ts := newTestServer(t, func(o *Options) { o.Now = now })
	kept := newEntity(t, "Kept", "kept@x.example")
	ts.publishVerified(t, kept)
	up := ts.upload(t, armorPublic(t, newEntity(t, "Squatter", "squatter@x.example")))
	gone := up["key_fpr"].(string)

	advance(23 * time.Hour)
	if n, err := ts.h.SweepUnverified(context.Background()); err != nil || n != 0 {
		t.Fatalf("after 23 h: %d swept, %v", n, err)
	}
	advance(2 * time.Hour)
	if n, err := ts.h.SweepUnverified(context.Background()); err != nil || n != 1 {
		t.Fatalf("after 25 h: %d swept, %v", n, err)
	}
	if _, err := ts.store.Get(context.Background(), gone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unverified key still stored: %v", err)
	}
	if code, _ := ts.get(t, "/vks/v1/by-email/kept@x.example"); code != 200 {
		t.Fatalf("verified key lost: %d", code)
	}
}

// By default only the relay's own domains may publish: the directory does
// not mail verification links to any address on the Internet.
func TestDefaultPublishDomains(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.DefaultDomains = []string{"chu.example"} })
	code, _ := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armorPublic(t, newEntity(t, "Out", "someone@elsewhere.example"))})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("upload for another domain: %d", code)
	}
	ts.upload(t, armorPublic(t, newEntity(t, "In", "dr@chu.example")))
	// A configured list replaces the default; "*" allows any.
	ts2 := newTestServer(t, func(o *Options) {
		o.DefaultDomains = []string{"chu.example"}
		o.AllowedDomains = []string{"*"}
	})
	ts2.upload(t, armorPublic(t, newEntity(t, "Any", "someone@elsewhere.example")))
}
