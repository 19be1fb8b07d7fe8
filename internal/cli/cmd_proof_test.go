package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
)

// The checkpoints a job kept must agree with the relay's proof: same key,
// same head at the same line.
func TestProofAgainstWitnessedCheckpoints(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	pub := key.Public().(ed25519.PublicKey)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	head := strings.Repeat("ab", 32)
	cp := relayapi.SignCheckpoint(key, 7, head, at)
	p := &relay.Proof{Drop: "d1", Checkpoint: &cp}
	raw := func(c relayapi.Checkpoint) json.RawMessage { b, _ := json.Marshal(c); return b }
	if err := checkWitnessed(p, pub, []json.RawMessage{raw(cp)}); err != nil {
		t.Fatalf("agreeing checkpoint: %v", err)
	}
	other := relayapi.SignCheckpoint(key, 7, strings.Repeat("cd", 32), at)
	if err := checkWitnessed(p, pub, []json.RawMessage{raw(other)}); err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("a kept checkpoint with another head at the same line: %v", err)
	}
	stranger := relayapi.SignCheckpoint(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), 3, head, at)
	if err := checkWitnessed(p, pub, []json.RawMessage{raw(stranger)}); err == nil {
		t.Fatal("a kept checkpoint by another key accepted")
	}
}

// The PDF rendering of a proof is one page that names the drop.
func TestProofPDFIsOnePage(t *testing.T) {
	pdfinfo := testutil.NeedTool(t, "pdfinfo")
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	up := time.Date(2026, 11, 23, 12, 5, 0, 0, time.UTC)
	cp := relayapi.SignCheckpoint(key, 7, strings.Repeat("ab", 32), up)
	p := &relay.Proof{Drop: "q8VyOXVEv5PbBPgJcIjikQ", SHA256: strings.Repeat("0", 64), Size: 4467, Sender: "s_1",
		SenderFingerprint: strings.Repeat("A", 40), Recipients: []string{"martin@police.example"}, Mode: "key",
		State: "ready", CreatedAt: up.Add(-time.Minute), UploadedAt: &up, Downloads: []time.Time{up, up, up},
		Receipts: []time.Time{up}, Checkpoint: &cp, IssuedAt: up}
	path := filepath.Join(t.TempDir(), "proof.pdf")
	if err := writeProofPDF(context.Background(), path, p, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdfinfo, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Pages:           1") {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	if txt, err := exec.Command("pdftotext", path, "-").Output(); err == nil && !bytes.Contains(txt, []byte(p.Drop)) {
		t.Fatalf("the PDF does not name the drop:\n%s", txt)
	}
	os.Remove(path)
}
