package recipient_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
)

// cryptoCase is one sealed message for browsertest/crypto.mjs.
type cryptoCase struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Secret string `json:"secret"`
	SHA256 string `json:"sha256"`
	Expect string `json:"expect"` // "ok" or the failure kinds allowed, "a|b"
}

// TestPageCrypto runs the differential tests of the page's own AES-CFB,
// SHA-1 and SHA-256 and of its SEIPD v1 streaming decryption against
// WebCrypto and OpenPGP.js, in node, on messages sealed here by envelope:
// intact ones of several sizes (one over several of the worker's 1 MiB
// pieces), on the page's thread and in workers, and tampered, truncated, wrongly keyed and
// wrongly signed ones that must all be refused. crypto.mjs adds its own
// cases for the one-pass reading of the inner message (onepass.js): inner
// messages encrypted again with a valid MDC and a changed body or
// signature, other shapes (text, compressed, SHA-512, v6, two signatures)
// that must take OpenPGP.js's path, and random mutants.
func TestPageCrypto(t *testing.T) {
	testutil.NeedIntegration(t)
	node := testutil.NeedTool(t, "node")
	dir := t.TempDir()
	static := filepath.Join(testutil.ModuleRoot(), "web", "recipient", "static")
	ents, err := os.ReadDir(static)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".js") || e.Name() == "kernels.wasm" {
			copyTestFile(t, filepath.Join(static, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	os.Mkdir(filepath.Join(dir, "vendor"), 0o755)
	copyTestFile(t, filepath.Join(static, "vendor", "openpgp.min.mjs"), filepath.Join(dir, "vendor", "openpgp.min.mjs"))
	writeTestFile(t, filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`))

	sender, err := envelope.GenerateKey("Dr Claire Martin", "claire.martin@chu-lyon.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := envelope.GenerateKey("Mallory", "mallory@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := sender.WritePublic(&pub, true); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "sender.asc"), pub.Bytes())

	var cases []cryptoCase
	add := func(name string, ct []byte, secret, sum, expect string) {
		file := name + ".pgp"
		writeTestFile(t, filepath.Join(dir, file), ct)
		cases = append(cases, cryptoCase{Name: name, File: file, Secret: secret, SHA256: sum, Expect: expect})
	}
	seal := func(signer *envelope.Key, plain []byte) ([]byte, string) {
		secret, err := envelope.NewLinkSecret()
		if err != nil {
			t.Fatal(err)
		}
		var ct bytes.Buffer
		w, err := envelope.Seal(&ct, envelope.SealOptions{Signer: signer, Secret: secret, FileName: "rapport.pdf", ModTime: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(plain); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return ct.Bytes(), secret
	}
	var big []byte
	var bigSecret string
	for _, n := range []int{0, 1, 17, 65535, 65536, 65537, 2_621_447, 300_001} {
		plain := make([]byte, n)
		rand.Read(plain)
		ct, secret := seal(sender, plain)
		sum := sha256.Sum256(plain)
		add("intact-"+strconv.Itoa(n), ct, secret, hex.EncodeToString(sum[:]), "ok")
		big, bigSecret = ct, secret
	}
	flip := func(at int) []byte {
		b := bytes.Clone(big)
		b[at] ^= 0x01
		return b
	}
	body := seipdBody(t, big)
	add("tampered-middle", flip(len(big)/2), bigSecret, "", "altered")
	add("tampered-mdc", flip(len(big)-1), bigSecret, "", "altered")
	add("tampered-mdc-header", flip(len(big)-22), bigSecret, "", "altered")
	// The signature packet, just before the MDC: garbled by CFB, it does not
	// parse, and the MDC is never reached by the packet reader.
	add("tampered-signature", flip(len(big)-60), bigSecret, "", "altered|badsig|corrupt")
	add("tampered-signature-start", flip(len(big)-130), bigSecret, "", "altered|badsig|corrupt")
	// Early damage garbles the first packets at random: any refusal will
	// do, as long as nothing is committed (checked for every bad case).
	add("tampered-prefix", flip(body+3), bigSecret, "", "badsecret|corrupt|altered|badsig")
	add("tampered-first-packet", flip(body+20), bigSecret, "", "badsecret|corrupt|altered|badsig")
	add("truncated", big[:len(big)-10], bigSecret, "", "corrupt|altered")
	add("truncated-half", big[:len(big)/2], bigSecret, "", "corrupt|altered")
	wrong, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	add("wrong-secret", big, wrong, "", "badsecret")
	plain := make([]byte, 100_000)
	rand.Read(plain)
	forged, forgedSecret := seal(other, plain)
	add("signed-by-another-key", forged, forgedSecret, "", "badsig|altered")

	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "cases.json"), js)
	runNodeChecks(t, node, "crypto.mjs", dir)
}

// seipdBody returns the offset of the SEIPD packet's version byte in a
// link-mode message: one SKESK packet, then the SEIPD with partial lengths.
func seipdBody(t *testing.T, ct []byte) int {
	t.Helper()
	if ct[0] != 0xC3 || ct[1] >= 192 {
		t.Fatalf("first packet %x %x is not a short SKESK", ct[0], ct[1])
	}
	p := 2 + int(ct[1])
	if ct[p] != 0xD2 || ct[p+2] != 1 {
		t.Fatalf("packet at %d is %x, version %d: not SEIPD v1 with a one-byte length", p, ct[p], ct[p+2])
	}
	return p + 2
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, to, b)
}

func writeTestFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
