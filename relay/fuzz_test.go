package relay

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
)

// senderKeyArmored returns an armored public key made by the envelope
// package, for seeds and tests.
func senderKeyArmored(t testing.TB) (string, string) {
	k, err := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := k.WritePublic(&b, true); err != nil {
		t.Fatal(err)
	}
	return b.String(), k.Fingerprint()
}

func FuzzCreateRequest(f *testing.F) {
	key, _ := senderKeyArmored(f)
	sha := strings.Repeat("ab", 32)
	full, _ := json.Marshal(relayapi.CreateDropRequest{IdempotencyKey: "job-01H", Size: 123456, SHA256: sha,
		Recipients: []string{"martin@police.example"}, Mode: "link", ExpiresInSeconds: 604800,
		MaxDownloads: intp(5), AccessCode: "48213907", SenderKey: key, Notify: true})
	for _, s := range []string{
		string(full),
		`{"size":1,"sha256":"` + sha + `","mode":"key"}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","max_downloads":0}`,
		`{"size":1e3,"sha256":"` + sha + `","mode":"key"}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","recipients":["a@b","c@d.example"]}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","recipients":["\"quoted\"@x.example"]}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","sender_key":"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----"}`,
		`{"size":9223372036854775807,"sha256":"` + sha + `","mode":"key"}`,
		`{}`, `[]`, `null`, `{"mode":"key"}{}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","recipients":["a@b.example"],"recipient_keys":[{"fingerprint":"` + strings.Repeat("a", 40) +
			`","encryption_key":"` + strings.Repeat("B", 64) + `","address":"a@b.example"}]}`,
		`{"size":1,"sha256":"` + sha + `","mode":"key","recipient_keys":[{"fingerprint":"` + strings.Repeat("a", 39) + `","encryption_key":""}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseCreate(bytes.NewReader(data), 1<<30)
		if err != nil {
			return
		}
		if v.Size <= 0 || v.Size > 1<<30 {
			t.Fatalf("size %d accepted", v.Size)
		}
		if b, err := hex.DecodeString(v.SHA256); err != nil || len(b) != 32 || v.SHA256 != strings.ToLower(v.SHA256) {
			t.Fatalf("sha256 %q accepted", v.SHA256)
		}
		if v.Mode != "key" && v.Mode != "link" {
			t.Fatalf("mode %q accepted", v.Mode)
		}
		if len(v.Recipients) > MaxRecipients || v.expiresIn <= 0 || v.expiresIn > MaxExpiry ||
			v.maxDownloads < 0 || len(v.IdempotencyKey) > maxIdempotencyKey {
			t.Fatalf("limits not enforced: %+v", v)
		}
		for _, r := range v.Recipients {
			if !strings.Contains(r, "@") || len(r) > maxAddress || strings.ContainsAny(r, "\r\n") {
				t.Fatalf("recipient %q accepted", r)
			}
		}
		if v.SenderKey != "" && len(v.senderFPR) < 40 {
			t.Fatalf("sender key without fingerprint")
		}
		if len(v.RecipientKeys) > relayapi.MaxRecipientKeys {
			t.Fatalf("%d recipient keys accepted", len(v.RecipientKeys))
		}
		seen := map[string]bool{}
		for _, k := range v.RecipientKeys {
			for _, f := range []string{k.Fingerprint, k.EncryptionKey} {
				if b, err := hex.DecodeString(f); err != nil || (len(b) != 20 && len(b) != 32) || f != strings.ToUpper(f) {
					t.Fatalf("fingerprint %q accepted", f)
				}
			}
			if seen[k.EncryptionKey] || (k.Address != "" && !slices.Contains(v.Recipients, k.Address)) {
				t.Fatalf("recipient key %+v accepted", k)
			}
			seen[k.EncryptionKey] = true
		}
	})
}

func FuzzCodeRequest(f *testing.F) {
	for _, s := range []string{`{"code":"48213907"}`, `{"code":""}`, `{"code":"\u0000"}`, `{"code":1}`, `{}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, err := parseCode(bytes.NewReader(data))
		if err == nil && (code == "" || len(code) > maxCodeLen) {
			t.Fatalf("code %q accepted", code)
		}
	})
}

func FuzzReceiptRequest(f *testing.F) {
	for _, s := range []string{`{"proof":"` + strings.Repeat("0f", 32) + `"}`, `{"proof":"zz"}`, `{"proof":null}`,
		`{"proof":"` + strings.Repeat("0f", 32) + `","signer":"` + strings.Repeat("A", 40) + `","signature":"AAAA","signed_at":"2026-12-01T10:00:00Z"}`,
		`{"proof":"` + strings.Repeat("0f", 32) + `","signer":"` + strings.Repeat("A", 40) + `"}`,
		`{"proof":"` + strings.Repeat("0f", 32) + `","link_proof":"` + strings.Repeat("AB", 32) + `"}`,
		`{"proof":"` + strings.Repeat("0f", 32) + `","link_proof":"zz"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseReceipt(bytes.NewReader(data))
		if err != nil {
			return
		}
		p, tok := req.Proof, req.Token
		if len(p) != 64 || p != strings.ToLower(p) {
			t.Fatalf("proof %q accepted", p)
		}
		if lp := req.LinkProof; lp != "" && (len(lp) != 64 || lp != strings.ToLower(lp)) {
			t.Fatalf("link proof %q accepted", lp)
		}
		// A signed receipt is whole: signer, bounded signature and time.
		if (req.Signer != "" || req.Signature != "" || !req.SignedAt.IsZero()) &&
			(len(req.Signer) != 40 && len(req.Signer) != 64 || req.Signature == "" || len(req.Signature) > relayapi.MaxReceiptSignature || req.SignedAt.IsZero()) {
			t.Fatalf("partial signed receipt accepted: %+v", req)
		}
		// Whatever the token, it is only accepted with the relay's MAC.
		if n, ok := parseReceiptToken([]byte("fuzz key"), "drop", tok); ok && newReceiptToken([]byte("fuzz key"), "drop", n) != tok {
			t.Fatalf("token %q accepted", tok)
		}
	})
}

func FuzzUploadMetadata(f *testing.F) {
	id := "pbRvxMwxOzRRhpgChMQ_nA"
	enc := base64.StdEncoding.EncodeToString([]byte(id))
	for _, s := range []string{
		"drop " + enc,
		"filename ZG9jLnBkZg==,drop " + enc,
		"drop " + enc + ",drop " + base64.StdEncoding.EncodeToString([]byte("../../x")),
		"drop",
		"drop !!!",
		"drop " + base64.StdEncoding.EncodeToString([]byte(id+"\x00")),
		",,, ,drop  " + enc,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got, err := DropIDFromMetadata(header)
		if err == nil && !relayapi.ValidDropID(got) {
			t.Fatalf("id %q accepted", got)
		}
	})
}

func FuzzVerifyAudit(f *testing.F) {
	f.Add([]byte(`{"seq":1,"at":"2026-11-23T12:00:00Z","event":"create","drop":"d","prev":"` + zeroHash + `"}` + "\n"))
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte(""))
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	cp := signCheckpoint(key, 1, zeroHash, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	line, _ := json.Marshal(AuditEvent{Seq: 1, At: cp.At, Event: EventCheckpoint, Prev: zeroHash, KeyID: cp.KeyID, Sig: cp.Sig})
	f.Add(append(line, '\n'))
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		VerifyAudit(bytes.NewReader(data))
		// A report that passed counts only checkpoints whose signature
		// holds under the key.
		rep, err := VerifySignedAudit(bytes.NewReader(data), pub)
		if err == nil && rep.LastCheckpoint != nil && rep.LastCheckpoint.Verify(pub) != nil {
			t.Fatalf("accepted a checkpoint the key did not sign: %+v", rep.LastCheckpoint)
		}
	})
}

func TestSenderKeyInInfo(t *testing.T) {
	h := newHarness(t)
	key, fpr := senderKeyArmored(t)
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{SenderKey: key})
	resp, body := h.do("GET", "/api/v1/drops/"+id, nil)
	info := decode[relayapi.DropInfo](t, expect(t, resp, body, 200))
	if info.SenderKey != key || !strings.EqualFold(info.SenderFingerprint, fpr) {
		t.Fatalf("sender key %q / fingerprint %q (want %s)", info.SenderKey[:40], info.SenderFingerprint, fpr)
	}
}

// FuzzParseS3URL: any --blobs value is accepted only as a bucket with an
// http(s) endpoint, never with credentials in it, and never panics.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{"s3://drops?endpoint=http://127.0.0.1:9000&region=eu-west-3", "s3://drops",
		"s3://a:b@drops", "s3://drops/x", "s3://drops?endpoint=javascript:x", "s3://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := ParseS3URL(raw)
		if err != nil {
			return
		}
		if o.Bucket == "" || o.Region == "" || o.AccessKey != "" || o.SecretKey != "" {
			t.Fatalf("ParseS3URL(%q) = %+v", raw, o)
		}
		if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "http://") && !strings.HasPrefix(o.Endpoint, "https://") {
			t.Fatalf("endpoint %q", o.Endpoint)
		}
	})
}
