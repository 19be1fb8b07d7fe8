package keyserver

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestUploadVerifyPublish(t *testing.T) {
	ts := newTestServer(t, nil)
	e := newEntity(t, "Martin", "martin@police.example", "m.private@home.example")
	armored := armorPublic(t, e)
	fpr := strings.ToUpper(strings.TrimSpace(string(hexOf(e.PrimaryKey.Fingerprint))))

	up := ts.upload(t, armored)
	if up["key_fpr"] != fpr {
		t.Fatalf("key_fpr %v, want %s", up["key_fpr"], fpr)
	}
	st := up["status"].(map[string]any)
	if st["martin@police.example"] != "unpublished" || st["m.private@home.example"] != "unpublished" {
		t.Fatalf("status %v", st)
	}
	// Before verification: by-email finds nothing, with the same answer as
	// an unknown address.
	code1, body1 := ts.get(t, "/vks/v1/by-email/martin@police.example")
	code2, body2 := ts.get(t, "/vks/v1/by-email/nobody@police.example")
	if code1 != 404 || code1 != code2 || body1 != body2 {
		t.Fatalf("unverified %d %q vs unknown %d %q", code1, body1, code2, body2)
	}
	// by-fingerprint serves the identity-free parts only.
	code, body := ts.get(t, "/vks/v1/by-fingerprint/"+fpr)
	if code != 200 {
		t.Fatalf("by-fingerprint %d", code)
	}
	c, err := ParseCert(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Emails()) != 0 || len(c.subkeys) != 1 {
		t.Fatalf("identity-free key has emails %v, %d subkeys", c.Emails(), len(c.subkeys))
	}

	code, out := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"martin@police.example"}})
	if code != 200 || out["status"].(map[string]any)["martin@police.example"] != "pending" {
		t.Fatalf("request-verify %d %v", code, out)
	}
	m := ts.mail.last(t)
	if m.To[0] != "martin@police.example" || m.From != "keys@relay.test" {
		t.Fatalf("mail %+v", m)
	}
	link := linkIn(t, m.Text)
	// A GET alone (a mail scanner) publishes nothing.
	ts.get(t, strings.TrimPrefix(link, ts.URL))
	if code, _ := ts.get(t, "/vks/v1/by-email/martin@police.example"); code != 404 {
		t.Fatalf("published by a GET: %d", code)
	}
	follow(t, link)
	code, body = ts.get(t, "/vks/v1/by-email/"+url.PathEscape("Martin@Police.example"))
	if code != 200 {
		t.Fatalf("by-email after verify: %d %s", code, body)
	}
	c, err = ParseCert(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Emails(); len(got) != 1 || got[0] != "martin@police.example" {
		t.Fatalf("published emails %v", got)
	}
	if code, _ := ts.get(t, "/vks/v1/by-email/martin%40police.example"); code != 200 {
		t.Fatalf("by-email with an escaped @: %d", code)
	}
	// The gpg-readable result parses with go-crypto too.
	if _, err := openpgp.ReadArmoredKeyRing(strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	// The link is single use.
	if code, _ := ts.get(t, strings.TrimPrefix(link, ts.URL)); code != 404 {
		t.Fatalf("reused link: %d", code)
	}
	// By key ID and HKP.
	keyid := fpr[len(fpr)-16:]
	if code, _ := ts.get(t, "/vks/v1/by-keyid/"+keyid); code != 200 {
		t.Fatalf("by-keyid %d", code)
	}
	if code, _ := ts.get(t, "/pks/lookup?op=get&options=mr&search=0x"+fpr); code != 200 {
		t.Fatalf("hkp by fpr %d", code)
	}
	if code, _ := ts.get(t, "/pks/lookup?op=get&search=martin%40police.example"); code != 200 {
		t.Fatalf("hkp by email %d", code)
	}
	if code, _ := ts.get(t, "/pks/lookup?op=get&search=m.private%40home.example"); code != 404 {
		t.Fatalf("hkp by unverified email %d", code)
	}
	code, idx := ts.get(t, "/pks/lookup?op=index&options=mr&search=0x"+fpr)
	if code != 200 || !strings.Contains(idx, "pub:"+fpr) || !strings.Contains(idx, "martin@police.example") || strings.Contains(idx, "home.example") {
		t.Fatalf("index %d %q", code, idx)
	}
	// Status after publishing.
	up2 := ts.upload(t, armored)
	if st := up2["status"].(map[string]any); st["martin@police.example"] != "published" {
		t.Fatalf("status after verify %v", st)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

func TestVerifyTokenExpires(t *testing.T) {
	now, advance := fixedClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	ts := newTestServer(t, func(o *Options) { o.Now = now })
	ts.store.now = now
	e := newEntity(t, "A", "a@x.example")
	up := ts.upload(t, armorPublic(t, e))
	code, _ := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"a@x.example"}})
	if code != 200 {
		t.Fatal(code)
	}
	link := linkIn(t, ts.mail.last(t).Text)
	advance(25 * time.Hour)
	if code, _ := ts.get(t, strings.TrimPrefix(link, ts.URL)); code != 404 {
		t.Fatalf("expired link answered %d", code)
	}
	// The upload token has expired too.
	code, _ = ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"a@x.example"}})
	if code != 400 {
		t.Fatalf("expired upload token answered %d", code)
	}
}

func TestOneKeyPerAddressAndRevocationSticks(t *testing.T) {
	ts := newTestServer(t, nil)
	publish := func(e *openpgp.Entity, email string) {
		up := ts.upload(t, armorPublic(t, e))
		code, out := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{email}})
		if code != 200 {
			t.Fatalf("request-verify %d %v", code, out)
		}
		follow(t, linkIn(t, ts.mail.last(t).Text))
	}
	old := newEntity(t, "B", "b@x.example")
	publish(old, "b@x.example")
	newer := newEntity(t, "B", "b@x.example")
	publish(newer, "b@x.example")
	_, body := ts.get(t, "/vks/v1/by-email/b@x.example")
	c, err := ParseCert(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint() != hexOf(newer.PrimaryKey.Fingerprint) {
		t.Fatal("by-email does not serve the newest verified key")
	}
	// Revoke the new key, upload the revocation, then re-upload the old copy.
	before := armorPublic(t, newer)
	if err := newer.RevokeKey(0, "retired", nil); err != nil {
		t.Fatal(err)
	}
	up := ts.upload(t, armorPublic(t, newer))
	if st := up["status"].(map[string]any); st["b@x.example"] != "revoked" {
		t.Fatalf("status %v", st)
	}
	ts.upload(t, before)
	_, body = ts.get(t, "/vks/v1/by-fingerprint/"+hexOf(newer.PrimaryKey.Fingerprint))
	c, err = ParseCert(strings.NewReader(body))
	if err != nil || !c.Revoked() {
		t.Fatalf("revocation lost after re-upload: %v", err)
	}
}

func TestManageUnpublish(t *testing.T) {
	ts := newTestServer(t, nil)
	e := newEntity(t, "C", "c@x.example")
	up := ts.upload(t, armorPublic(t, e))
	ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"c@x.example"}})
	follow(t, linkIn(t, ts.mail.last(t).Text))
	if code, _ := ts.get(t, "/vks/v1/by-email/c@x.example"); code != 200 {
		t.Fatal("not published")
	}
	// Same answer for a published and an unknown address; mail only for
	// the published one.
	n := ts.mail.count()
	c1, o1 := ts.postJSON(t, "/manage", map[string]string{"email": "nobody@x.example"})
	if ts.mail.count() != n {
		t.Fatal("mail sent for an unknown address")
	}
	c2, o2 := ts.postJSON(t, "/manage", map[string]string{"email": "c@x.example"})
	if c1 != c2 || o1["status"] != o2["status"] {
		t.Fatalf("manage answers differ: %d %v / %d %v", c1, o1, c2, o2)
	}
	follow(t, linkIn(t, ts.mail.last(t).Text))
	if code, _ := ts.get(t, "/vks/v1/by-email/c@x.example"); code != 404 {
		t.Fatal("still published after deletion")
	}
}

func TestAllowedDomains(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.AllowedDomains = []string{"police.example"} })
	code, out := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armorPublic(t, newEntity(t, "D", "d@gmail.example"))})
	if code != 422 {
		t.Fatalf("foreign domain upload: %d %v", code, out)
	}
	up := ts.upload(t, armorPublic(t, newEntity(t, "E", "e@police.example", "e@gmail.example")))
	st := up["status"].(map[string]any)
	if _, ok := st["e@gmail.example"]; ok || st["e@police.example"] != "unpublished" {
		t.Fatalf("status %v", st)
	}
	code, _ = ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"e@gmail.example"}})
	if code != 400 {
		t.Fatalf("verify of a foreign domain: %d", code)
	}
}

func TestImportVerified(t *testing.T) {
	ts := newTestServer(t, nil)
	var buf bytes.Buffer
	for _, em := range []string{"f@police.example", "g@police.example"} {
		buf.Write(serializePublic(t, newEntity(t, "F", em)))
	}
	certs, err := ParseCerts(&buf)
	if err != nil || len(certs) != 2 {
		t.Fatal(err, len(certs))
	}
	if _, err := Import(t.Context(), ts.store, certs, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, em := range []string{"f@police.example", "g@police.example"} {
		if code, _ := ts.get(t, "/vks/v1/by-email/"+em); code != 200 {
			t.Fatalf("%s not published by import", em)
		}
	}
	if err := Unpublish(t.Context(), ts.store, "f@police.example"); err != nil {
		t.Fatal(err)
	}
	if code, _ := ts.get(t, "/vks/v1/by-email/f@police.example"); code != 404 {
		t.Fatal("unpublish failed")
	}
}
