package relayapi

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Checkpoint is a signed statement of the relay's audit log: "at line Seq
// the log's head was Head". The relay's audit key (Ed25519) signs it;
// senders keep the checkpoints they are shown, and a proof of delivery
// carries the one that covers its drop.
type Checkpoint struct {
	// Seq is the checkpoint line's own sequence number; it covers every
	// line before it.
	Seq int64 `json:"seq"`
	// Head is the hex SHA-256 of line Seq-1.
	Head string `json:"head"`
	// At is when the checkpoint was made (UTC).
	At time.Time `json:"at"`
	// KeyID names the audit key (see AuditKeyID).
	KeyID string `json:"key_id"`
	// Sig is the base64 Ed25519 signature of Message.
	Sig string `json:"sig"`
}

// checkpointDomain separates checkpoint signatures from anything else the
// audit key signs.
const checkpointDomain = "sealrelay audit checkpoint v1\n"

// Message is the exact byte string the audit key signs for c.
func (c Checkpoint) Message() []byte {
	return []byte(checkpointDomain + strconv.FormatInt(c.Seq, 10) + "\n" + c.Head + "\n" +
		c.At.UTC().Format(time.RFC3339Nano) + "\n")
}

// Verify checks c's signature against pub.
func (c Checkpoint) Verify(pub ed25519.PublicKey) error {
	if c.KeyID != AuditKeyID(pub) {
		return fmt.Errorf("checkpoint %d: signed by audit key %s, not %s", c.Seq, c.KeyID, AuditKeyID(pub))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(c.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("checkpoint %d: malformed signature", c.Seq)
	}
	if len(c.Head) != 64 {
		return fmt.Errorf("checkpoint %d: malformed head", c.Seq)
	}
	if !ed25519.Verify(pub, c.Message(), sig) {
		return fmt.Errorf("checkpoint %d: bad signature", c.Seq)
	}
	return nil
}

// SignCheckpoint makes the checkpoint for line seq whose previous line
// hashes to head.
func SignCheckpoint(key ed25519.PrivateKey, seq int64, head string, at time.Time) Checkpoint {
	c := Checkpoint{Seq: seq, Head: head, At: at.UTC(), KeyID: AuditKeyID(key.Public().(ed25519.PublicKey))}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.Message()))
	return c
}

// AuditKeyID is the short name of an audit public key: the first 16 bytes
// of its SHA-256, in hex.
func AuditKeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:16])
}

// AuditPublicKey is the body of GET /.well-known/sealrelay/audit-key.
type AuditPublicKey struct {
	Algorithm string `json:"algorithm"` // "ed25519"
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id"`
}

// NewAuditPublicKey describes pub.
func NewAuditPublicKey(pub ed25519.PublicKey) AuditPublicKey {
	return AuditPublicKey{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), KeyID: AuditKeyID(pub)}
}

// ParseAuditPublicKey reads an AuditPublicKey document, or a bare base64
// key, and checks that its key id matches.
func ParseAuditPublicKey(b []byte) (ed25519.PublicKey, error) {
	var doc AuditPublicKey
	if err := json.Unmarshal(b, &doc); err != nil {
		doc.PublicKey = strings.TrimSpace(string(b))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(doc.PublicKey)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("audit key: not an Ed25519 public key")
	}
	pub := ed25519.PublicKey(raw)
	if doc.KeyID != "" && doc.KeyID != AuditKeyID(pub) {
		return nil, errors.New("audit key: key id does not match the key")
	}
	return pub, nil
}

// CompleteResponse is the answer to POST /api/v1/drops/{id}/complete.
type CompleteResponse struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Checkpoint is the signed audit checkpoint that covers the drop's
	// completion (the sender keeps it in the job record).
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}
