package keyserver

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestVerificationRateLimitedPerAddress: 1,000 verification requests for
// one address send only MailsPerAddress mails; the rest are refused.
func TestVerificationRateLimitedPerAddress(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.RequestsPerClient = 100000 })
	up := ts.upload(t, armorPublic(t, newEntity(t, "V", "victim@x.example")))
	codes := map[int]int{}
	for i := 0; i < 1000; i++ {
		code, _ := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"victim@x.example"}})
		codes[code]++
	}
	if ts.mail.count() != 3 || codes[200] != 3 || codes[http.StatusTooManyRequests] != 997 {
		t.Fatalf("mails %d, answers %v", ts.mail.count(), codes)
	}
	// Re-uploading the key (new upload tokens) does not reset the limit,
	// and neither does HKP.
	up2 := ts.upload(t, armorPublic(t, newEntity(t, "V2", "victim@x.example")))
	code, _ := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up2["token"], "addresses": []string{"victim@x.example"}})
	if code != http.StatusTooManyRequests || ts.mail.count() != 3 {
		t.Fatalf("limit bypassed with another key: %d, %d mails", code, ts.mail.count())
	}
}

// TestRequestsRateLimitedPerClient: with default limits, one client
// cannot hammer the upload endpoint.
func TestRequestsRateLimitedPerClient(t *testing.T) {
	ts := newTestServer(t, nil)
	armored := armorPublic(t, newEntity(t, "W", "w@x.example"))
	limited := 0
	for i := 0; i < 100; i++ {
		code, _ := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armored})
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 40 {
		t.Fatalf("%d of 100 uploads limited, want 40", limited)
	}
}

// TestHugeKeyRefused: a 10 MiB upload is refused with 413 by VKS and HKP,
// and by the parser itself.
func TestHugeKeyRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	huge := "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", 10<<20/65) + "-----END PGP PUBLIC KEY BLOCK-----\n"
	code, out := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": huge})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("VKS: %d %v", code, out)
	}
	resp, err := http.Post(ts.URL+"/pks/add", "application/x-www-form-urlencoded", strings.NewReader("keytext="+huge))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("HKP: %d", resp.StatusCode)
	}
	if _, err := ParseCerts(strings.NewReader(huge)); !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("parser: %v", err)
	}
	list, _ := ts.store.List(t.Context())
	if len(list) != 0 {
		t.Fatalf("stored %v", list)
	}
}

// TestManyUserIDsRefused: a key with 10,000 user IDs is refused cleanly,
// as is a real signed key just over the limit.
func TestManyUserIDsRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	e := newEntity(t, "U", "u@x.example")
	var b bytes.Buffer
	e.PrimaryKey.Serialize(&b)
	for i := 0; i < 10000; i++ {
		packet.NewUserId("u", "", "u"+strings.Repeat("x", i%5)+"@x.example").Serialize(&b)
	}
	var armored bytes.Buffer
	writeArmored(&armored, b.Bytes())
	code, out := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armored.String()})
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(out["error"].(string), "too large") {
		t.Fatalf("10,000 user IDs: %d %v", code, out)
	}

	signed := newEntity(t, "S", "s0@x.example")
	for i := 1; i <= MaxUserIDs; i++ {
		if err := signed.AddUserId("S", "", "s"+strings.Repeat("1", i)+"@x.example", nil); err != nil {
			t.Fatal(err)
		}
	}
	code, out = ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armorSerialized(t, serializePublic(t, signed))})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d user IDs: %d %v", MaxUserIDs+1, code, out)
	}
}

func armorSerialized(t testing.TB, b []byte) string {
	var out bytes.Buffer
	if err := writeArmored(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestSecretKeyRefused: secret key material is never stored.
func TestSecretKeyRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	e := newEntity(t, "P", "p@x.example")
	var b bytes.Buffer
	if err := e.SerializePrivate(&b, nil); err != nil {
		t.Fatal(err)
	}
	code, out := ts.postJSON(t, "/vks/v1/upload", map[string]string{"keytext": armorSerialized(t, b.Bytes())})
	if code != http.StatusUnprocessableEntity || !strings.Contains(out["error"].(string), "secret") {
		t.Fatalf("secret key: %d %v", code, out)
	}
}

// TestThirdPartySignaturesStripped: certifications by other keys are not
// kept (no signature flooding).
func TestThirdPartySignaturesStripped(t *testing.T) {
	e := newEntity(t, "T", "t@x.example")
	other := newEntity(t, "O", "o@x.example")
	if err := e.SignIdentity(e.PrimaryIdentity().Name, other, nil); err != nil {
		t.Fatal(err)
	}
	c, err := ParseCert(bytes.NewReader(serializePublic(t, e)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.userIDs[0].sigs); n != 1 {
		t.Fatalf("%d signatures kept on the user ID, want only the self-signature", n)
	}
}

// TestHugeRSAKeyRefused: a primary key whose signatures would be too costly
// to verify is refused before any verification.
func TestHugeRSAKeyRefused(t *testing.T) {
	n := bytes.Repeat([]byte{0xff}, 20000/8)
	body := []byte{4, 0, 0, 0, 1, 1} // v4, creation time, RSA
	body = append(body, byte(20000>>8), byte(20000&0xff))
	body = append(body, n...)
	body = append(body, 0, 17, 1, 0, 1) // e = 65537
	var b bytes.Buffer
	writePacket(&b, rawPacket{tag: tagPublicKey, body: body})
	packet.NewUserId("x", "", "x@x.example").Serialize(&b)
	if _, err := ParseCerts(&b); !errors.Is(err, ErrKeyTooLarge) {
		t.Fatalf("20000-bit RSA key: %v", err)
	}
}

// TestMailsRateLimitedPerClient: one client cannot use the directory to
// mail many different addresses (a key with many user IDs, HKP uploads).
func TestMailsRateLimitedPerClient(t *testing.T) {
	ts := newTestServer(t, nil)
	var emails []string
	for i := 0; i < 30; i++ {
		emails = append(emails, "victim"+strings.Repeat("x", i)+"@x.example")
	}
	e := newEntity(t, "Spam", emails...)
	up := ts.upload(t, armorPublic(t, e))
	code, _ := ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": emails})
	if code != http.StatusTooManyRequests || ts.mail.count() != 20 {
		t.Fatalf("answer %d after %d mails, want 429 after 20", code, ts.mail.count())
	}
	// HKP uploads from the same client send nothing more.
	other := newEntity(t, "Spam2", "another@x.example")
	resp, err := http.Post(ts.URL+"/pks/add", "application/x-www-form-urlencoded",
		strings.NewReader("keytext="+url.QueryEscape(armorPublic(t, other))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ts.mail.count() != 20 {
		t.Fatalf("%d mails after the HKP upload", ts.mail.count())
	}
}
