package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
)

// An insider who holds the data directory, audit key included, rewrites a
// record and re-signs every later checkpoint: the log verifies on its own,
// and the checkpoint a sender kept contradicts it.
func TestAuditWitnessCatchesResignedHistory(t *testing.T) {
	dd := relay.DataDir{Root: t.TempDir()}
	key, err := relay.LoadOrCreateAuditKey(dd.AuditKey())
	if err != nil {
		t.Fatal(err)
	}
	a, err := relay.OpenSignedAuditLog(dd.AuditLog(), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, ev := range []string{relay.EventCreate, relay.EventUpload, relay.EventComplete} {
		if err := a.Record(context.Background(), relay.AuditEvent{At: at, Event: ev, Drop: "d1", Sender: "s_doctor"}); err != nil {
			t.Fatal(err)
		}
	}
	witness := a.LastCheckpoint() // what the sender's client kept
	a.Close()
	wb, _ := json.Marshal(witness)
	witnessFile := filepath.Join(t.TempDir(), "witness.json")
	os.WriteFile(witnessFile, wb, 0o600)

	relayRun := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := RunRelay(context.Background(), args, strings.NewReader(""), &out, &out, func(string) string { return "" })
		return out.String(), code
	}
	if out, code := relayRun("audit", "verify", "--data", dd.Root, "--witness", witnessFile); code != 0 {
		t.Fatalf("intact log with its witness: %d %s", code, out)
	}

	// Rewrite line 1 (another sender), recompute the chain, re-sign.
	b, _ := os.ReadFile(dd.AuditLog())
	var forged bytes.Buffer
	prev := strings.Repeat("0", 64)
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e relay.AuditEvent
		json.Unmarshal([]byte(l), &e)
		if i == 0 {
			e.Sender = "s_someone_else"
		}
		e.Prev = prev
		if e.Event == relay.EventCheckpoint {
			c := relayapi.SignCheckpoint(key, e.Seq, prev, e.At)
			e.Sig = c.Sig
		}
		nb, _ := json.Marshal(e)
		forged.Write(append(nb, '\n'))
		h := sha256.Sum256(nb)
		prev = hex.EncodeToString(h[:])
	}
	os.WriteFile(dd.AuditLog(), forged.Bytes(), 0o600)
	pub := key.Public().(ed25519.PublicKey)
	if _, err := relay.VerifySignedAudit(bytes.NewReader(forged.Bytes()), pub); err != nil {
		t.Fatalf("the re-signed log should verify on its own: %v", err)
	}
	out, code := relayRun("audit", "verify", "--data", dd.Root, "--witness", witnessFile)
	if code == 0 || !strings.Contains(out, "contradicts a witnessed checkpoint") {
		t.Fatalf("re-signed log with the sender's witness: %d %s", code, out)
	}
}
