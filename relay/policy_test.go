package relay

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

func TestDomainAllowed(t *testing.T) {
	p := []string{"*.interieur.gouv.fr", "justice.fr"}
	for addr, want := range map[string]bool{
		"a@police.interieur.gouv.fr":        true,
		"a@x.gendarmerie.interieur.gouv.fr": true,
		"a@interieur.gouv.fr":               false,
		"a@justice.fr":                      true,
		"a@tribunal.justice.fr":             false,
		"a@evilinterieur.gouv.fr":           false,
		"a@interieur.gouv.fr.evil.com":      false,
		"a@JUSTICE.FR":                      true,
	} {
		if got := domainAllowed(p, addr); got != want {
			t.Errorf("%s: %v", addr, got)
		}
	}
}

// A drop that breaks the policy is refused by the relay itself, on a raw
// API call that no client checked: 403 naming the rule.
func TestPolicyRefusesRawDrops(t *testing.T) {
	h := newHarness(t)
	if err := SavePolicy(h.data.PolicyFile(), relayapi.Policy{
		AllowedDomains: []string{"*.interieur.gouv.fr", "justice.fr"}, MaxExpirySeconds: 2 * 86400,
		MaxDownloads: 3, LinkNeedsCode: true,
	}); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do("GET", "/api/v1/policy", nil)
	pol := decode[relayapi.Policy](t, expect(t, resp, body, http.StatusOK))
	if pol.MaxDownloads != 3 || !pol.LinkNeedsCode || len(pol.AllowedDomains) != 2 {
		t.Fatalf("served policy %+v", pol)
	}
	data := randomBytes(t, 50)
	five := 5
	zero := 0
	base := func() relayapi.CreateDropRequest {
		return relayapi.CreateDropRequest{Size: int64(len(data)), SHA256: hexSHA(data), Mode: "key",
			Recipients: []string{"opj@police.interieur.gouv.fr"}}
	}
	for rule, mod := range map[string]func(*relayapi.CreateDropRequest){
		relayapi.RuleAllowedDomains:                func(r *relayapi.CreateDropRequest) { r.Recipients = []string{"someone@gmail.com"} },
		relayapi.RuleAllowedDomains + " (none)":    func(r *relayapi.CreateDropRequest) { r.Recipients = nil },
		relayapi.RuleMaxExpiry:                     func(r *relayapi.CreateDropRequest) { r.ExpiresInSeconds = 3 * 86400 },
		relayapi.RuleMaxDownloads:                  func(r *relayapi.CreateDropRequest) { r.MaxDownloads = &five },
		relayapi.RuleMaxDownloads + " (unlimited)": func(r *relayapi.CreateDropRequest) { r.MaxDownloads = &zero },
		relayapi.RuleLinkNeedsCode:                 func(r *relayapi.CreateDropRequest) { r.Mode = "link" },
	} {
		req := base()
		mod(&req)
		resp, body := h.do("POST", "/api/v1/drops", req, h.auth()...)
		e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusForbidden))
		if want, _, _ := strings.Cut(rule, " "); e.Rule != want || !strings.Contains(e.Error, want) {
			t.Errorf("%s: answered %+v", rule, e)
		}
	}
	// Within the policy: accepted, the relay's defaults bounded by it.
	req := base()
	req.Mode, req.AccessCode = "link", "12345678"
	c := h.create(data, req)
	st := h.status(c.ID)
	if st.MaxDownloads != 3 || st.ExpiresAt.Sub(st.CreatedAt) > 2*86400e9 {
		t.Fatalf("defaults not bounded: %+v", st)
	}
	// The policy file is read again when it changes; a broken one fails
	// closed.
	os.WriteFile(h.data.PolicyFile(), []byte("{not json"), 0o600)
	resp, body = h.do("POST", "/api/v1/drops", base(), h.auth()...)
	expect(t, resp, body, http.StatusInternalServerError)
	os.Remove(h.data.PolicyFile())
	req = base()
	req.Recipients = []string{"someone@gmail.com"}
	h.create(data, req)
}

func sealTo(t *testing.T, signer *envelope.Key, to ...*envelope.Key) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := envelope.Seal(&buf, envelope.SealOptions{Signer: signer, Recipients: to, FileName: "r.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("%PDF-1.7 rapport ARCHIVE-MARKER\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// With an archive key in the policy, a document not encrypted to it is
// refused at completion; one that is can be opened by the archive key's
// holder with gpg.
func TestPolicyArchiveKey(t *testing.T) {
	h := newHarness(t)
	sender, _ := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	officer, _ := envelope.GenerateKey("Cdt Martin", "martin@police.example", nil)
	archive, _ := envelope.GenerateKey("Archives CHU", "archives@chu.example", nil)
	var pub bytes.Buffer
	archive.Public().WritePublic(&pub, true)
	if err := SavePolicy(h.data.PolicyFile(), relayapi.Policy{ArchiveKey: pub.String()}); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do("GET", "/api/v1/policy", nil)
	if pol := decode[relayapi.Policy](t, expect(t, resp, body, http.StatusOK)); pol.ArchiveFingerprint != archive.Fingerprint() {
		t.Fatalf("archive fingerprint %q, want %q", pol.ArchiveFingerprint, archive.Fingerprint())
	}

	without := sealTo(t, sender, officer.Public())
	c := h.create(without, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	h.upload(c.ID, without)
	resp, body = h.complete(c.ID)
	if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusForbidden)); e.Rule != relayapi.RuleArchiveKey {
		t.Fatalf("%+v", e)
	}
	if h.blobExists(c.ID) {
		t.Fatal("refused document stored")
	}

	with := sealTo(t, sender, officer.Public(), archive.Public())
	id := h.ready(with, relayapi.CreateDropRequest{Recipients: []string{"martin@police.example"}})
	resp, blob := h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, blob, http.StatusOK)

	gpg := testutil.NeedTool(t, "gpg")
	home, err := os.MkdirTemp("/tmp", "gpga")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	var sec bytes.Buffer
	archive.WriteSecret(&sec, true, nil)
	run := func(stdin []byte, args ...string) []byte {
		cmd := exec.Command(gpg, append([]string{"--homedir", home, "--batch", "--yes", "--pinentry-mode", "loopback"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return out
	}
	run(sec.Bytes(), "--import")
	var spub bytes.Buffer
	sender.Public().WritePublic(&spub, true)
	run(spub.Bytes(), "--import")
	enc := filepath.Join(t.TempDir(), "doc.pgp")
	os.WriteFile(enc, blob, 0o600)
	if out := run(nil, "--decrypt", enc); !bytes.Contains(out, []byte("ARCHIVE-MARKER")) {
		t.Fatalf("gpg opened %q", out)
	}
}

// FuzzEncryptedTo: any bytes at the head of an upload are read without
// panic or unbounded work.
func FuzzEncryptedTo(f *testing.F) {
	f.Add([]byte{0xc1, 0x0c, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 0x12})
	f.Add([]byte("-----BEGIN PGP MESSAGE-----"))
	f.Fuzz(func(t *testing.T, b []byte) {
		encryptedTo(bytes.NewReader(b), map[uint64]bool{0x0102030405060708: true})
	})
}

// FuzzLoadPolicy: a policy file of any content loads or is refused.
func FuzzLoadPolicy(f *testing.F) {
	f.Add([]byte(`{"allowed_domains":["*.justice.fr"],"max_downloads":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "policy.json")
		os.WriteFile(p, b, 0o600)
		pol, err := LoadPolicy(p)
		if err == nil && SavePolicy(p, pol) != nil {
			t.Fatal("a loaded policy does not save")
		}
	})
}
