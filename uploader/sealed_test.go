//go:build unix

package uploader

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// TestSealedDropThroughInterception sends a real sealed document through
// squid's TLS interception and opens what the recipient downloads: the
// proxy saw only ciphertext, and the drop decrypts.
func TestSealedDropThroughInterception(t *testing.T) {
	testutil.NeedIntegration(t)
	r := newFakeRelay(t)
	sq := startSquid(t, squidBump, r.caFile)
	signer, err := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("%PDF-1.7 forensic report MARKER-7f3a "), 20000)
	sealedPath := filepath.Join(t.TempDir(), "sealed.pgp")
	out, err := os.Create(sealedPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := envelope.Seal(out, envelope.SealOptions{Signer: signer, Secret: secret, FileName: "report.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := out.Stat()
	c := newTestClient(t, r, Options{Proxy: sq.URL(), CA: sq.caFile, ChunkSize: 256 << 10})
	d, err := c.Send(testCtx(t), relayapi.CreateDropRequest{Size: st.Size(), Mode: "link"}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	var got bytes.Buffer
	if _, err := c.Download(testCtx(t), d.ID, "", &got); err != nil {
		t.Fatal(err)
	}
	var opened bytes.Buffer
	msg, err := envelope.Open(&got, &opened, envelope.OpenOptions{Secret: secret, Verifiers: []*envelope.Key{signer.Public()}})
	if err != nil || !msg.Verified || !bytes.Equal(opened.Bytes(), plain) {
		t.Fatalf("open: %v (verified %v, %d bytes)", err, msg != nil && msg.Verified, opened.Len())
	}
	if bytes.Contains([]byte(sq.accessLog()), []byte("MARKER-7f3a")) {
		t.Fatal("plaintext in the proxy's log")
	}
}
