package relay

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relayapi"
)

// EventCheckpoint is a signed checkpoint line: the relay's audit key signs
// the sequence number, the hash of the line before (the head of the chain)
// and the time. A log rewritten after a checkpoint no longer matches it.
const EventCheckpoint = "checkpoint"

// DefaultCheckpointEvery is how many records may pass without a checkpoint.
const DefaultCheckpointEvery = 64

// Checkpoint is a signed checkpoint (see relayapi.Checkpoint).
type Checkpoint = relayapi.Checkpoint

// AuditPublicKey describes the audit key as served.
type AuditPublicKey = relayapi.AuditPublicKey

// AuditKeyID is the short name of an audit public key.
func AuditKeyID(pub ed25519.PublicKey) string { return relayapi.AuditKeyID(pub) }

// NewAuditPublicKey describes pub.
func NewAuditPublicKey(pub ed25519.PublicKey) AuditPublicKey { return relayapi.NewAuditPublicKey(pub) }

// ParseAuditPublicKey reads an audit public key document or base64 key.
func ParseAuditPublicKey(b []byte) (ed25519.PublicKey, error) { return relayapi.ParseAuditPublicKey(b) }

func signCheckpoint(key ed25519.PrivateKey, seq int64, head string, at time.Time) Checkpoint {
	return relayapi.SignCheckpoint(key, seq, head, at)
}

// checkpointOf returns the checkpoint a checkpoint line states.
func checkpointOf(e AuditEvent) Checkpoint {
	return Checkpoint{Seq: e.Seq, Head: e.Prev, At: e.At, KeyID: e.KeyID, Sig: e.Sig}
}

// LoadOrCreateAuditKey reads the relay's Ed25519 audit key (a 32-byte
// seed) from path, creating it on first start.
func LoadOrCreateAuditKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != ed25519.SeedSize {
			return nil, fmt.Errorf("audit key %s: want %d bytes, have %d", path, ed25519.SeedSize, len(b))
		}
		return ed25519.NewKeyFromSeed(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, seed, 0o600); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadAuditPublicKey reads the public half of the audit key at path.
func LoadAuditPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit key %s: want %d bytes, have %d", path, ed25519.SeedSize, len(b))
	}
	return ed25519.NewKeyFromSeed(b).Public().(ed25519.PublicKey), nil
}

// ReadCheckpoints returns the checkpoint lines of an audit log by their
// sequence number.
func ReadCheckpoints(r io.Reader) (map[int64]Checkpoint, error) {
	sc := newAuditScanner(r, nil)
	out := map[int64]Checkpoint{}
	needle := []byte(`"event":"` + EventCheckpoint + `"`)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), needle) {
			continue
		}
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if e.Event == EventCheckpoint {
			out[e.Seq] = checkpointOf(e)
		}
	}
	return out, sc.Err()
}
