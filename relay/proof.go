package relay

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// A proof of delivery is a JSON document the relay signs with its audit
// key: what was deposited (drop id, the sealed document's SHA-256 and
// size), by whom, for whom, and when it was created, uploaded, downloaded
// and acknowledged, with the drop's audit lines and the signed checkpoint
// that covers them. It verifies offline; any changed byte is refused.

// ProofVersion is the version of the proof format.
const ProofVersion = 1

// maxProofSize bounds a proof file.
const maxProofSize = 1 << 20

// proofDomain separates proof signatures from checkpoint signatures.
const proofDomain = "sealrelay proof of delivery v1\n"

// Proof is the signed content of a proof of delivery.
type Proof struct {
	Version int    `json:"version"`
	Relay   string `json:"relay,omitempty"` // the relay's public URL
	Drop    string `json:"drop"`
	// SHA256 and Size describe the sealed document as deposited (the
	// OpenPGP ciphertext; the relay never sees the plaintext).
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Sender is the relay's sender id; SenderFingerprint the key the
	// sender signed with, when known.
	Sender            string   `json:"sender"`
	SenderFingerprint string   `json:"sender_fingerprint,omitempty"`
	Recipients        []string `json:"recipients,omitempty"`
	// RecipientKeys are the keys the document is encrypted to, as the
	// sender stated them at creation; the relay checked at completion
	// that the message's key packets are addressed to exactly their
	// encryption keys (see docs/security.md for what that proves).
	RecipientKeys []relayapi.RecipientKey `json:"recipient_keys,omitempty"`
	Mode          string                  `json:"mode"`
	State         string                  `json:"state"`
	CreatedAt     time.Time               `json:"created_at"`
	UploadedAt    *time.Time              `json:"uploaded_at,omitempty"`
	Downloads     []time.Time             `json:"downloads"`
	Receipts      []time.Time             `json:"receipts"`
	// SignedReceipts are the receipts a recipient signed with its own key:
	// who opened the document (the signature is over
	// relayapi.ReceiptStatement; whoever holds the recipient's public key
	// checks it offline).
	SignedReceipts []SignedReceipt `json:"signed_receipts,omitempty"`
	// Replies are the recipients' replies to the drop (ciphertext the
	// relay stored for the sender), oldest first.
	Replies []ProofReply `json:"replies,omitempty"`
	// Events are the drop's lines of the audit log, as written.
	Events []AuditEvent `json:"events"`
	// Checkpoint is the latest signed checkpoint when the proof was made;
	// it covers every event listed (their Seq is below its own).
	Checkpoint *Checkpoint `json:"checkpoint"`
	IssuedAt   time.Time   `json:"issued_at"`
}

// SignedReceipt is a receipt signed by a recipient key, as a proof lists it.
type SignedReceipt struct {
	At        time.Time `json:"at"` // when the relay received it
	Signer    string    `json:"signer"`
	SignedAt  time.Time `json:"signed_at"` // the time the statement gives
	Signature string    `json:"signature"`
}

// ProofReply is one reply listed in a proof of delivery.
type ProofReply struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ReadyAt   *time.Time `json:"ready_at,omitempty"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"` // hex of the reply's ciphertext
}

// SignedProof is the proof file.
type SignedProof struct {
	Proof     json.RawMessage `json:"proof"`
	KeyID     string          `json:"key_id"`
	PublicKey string          `json:"public_key"`
	Signature string          `json:"signature"`
}

// proofSource is what a proof is built from.
type proofSource struct {
	relay    string
	drop     *Drop
	receipts []relayapi.Receipt
	events   []AuditEvent
	cp       *Checkpoint
	now      time.Time
	replies  []*Drop
}

// buildProof assembles and signs a proof of delivery.
func buildProof(src proofSource, key ed25519.PrivateKey) ([]byte, error) {
	d := src.drop
	p := Proof{
		Version: ProofVersion, Relay: src.relay, Drop: d.ID, SHA256: d.SHA256, Size: d.Size,
		Sender: d.SenderID, SenderFingerprint: d.SenderFPR, Recipients: d.Recipients, Mode: d.Mode,
		RecipientKeys: d.RecipientKeys,
		State:         d.StateAt(src.now), CreatedAt: d.CreatedAt.UTC(),
		Downloads: []time.Time{}, Receipts: []time.Time{}, Events: src.events, Checkpoint: src.cp,
		IssuedAt: src.now.UTC(),
	}
	if !d.ReadyAt.IsZero() {
		t := d.ReadyAt.UTC()
		p.UploadedAt = &t
	}
	for _, e := range src.events {
		if e.Event == EventDownload {
			p.Downloads = append(p.Downloads, e.At)
		}
	}
	for _, r := range src.receipts {
		p.Receipts = append(p.Receipts, r.At.UTC())
		if r.Signer != "" {
			p.SignedReceipts = append(p.SignedReceipts, SignedReceipt{At: r.At.UTC(), Signer: r.Signer, SignedAt: r.SignedAt.UTC(), Signature: r.Signature})
		}
	}
	for _, r := range src.replies {
		pr := ProofReply{ID: r.ID, CreatedAt: r.CreatedAt.UTC(), Size: r.Size, SHA256: r.SHA256}
		if !r.ReadyAt.IsZero() {
			t := r.ReadyAt.UTC()
			pr.ReadyAt = &t
		}
		p.Replies = append(p.Replies, pr)
	}
	if p.Events == nil {
		p.Events = []AuditEvent{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	pub := key.Public().(ed25519.PublicKey)
	sp := SignedProof{
		Proof: body, KeyID: AuditKeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(proofDomain), body...))),
	}
	return marshalProof(sp)
}

// marshalProof is the one canonical form of a proof file: indented JSON
// and a final newline. The signature covers the compact form of "proof".
func marshalProof(sp SignedProof) ([]byte, error) {
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrBadProof is wrapped by VerifyProof's errors.
var ErrBadProof = errors.New("proof of delivery refused")

// VerifyProof checks a proof file: canonical form (so any changed byte is
// refused, whitespace included), the relay's signature, the checkpoint's
// signature, and that the checkpoint covers the events. When want is set,
// the proof must be signed by that audit key; otherwise the caller must
// compare the returned key with the relay's published one.
func VerifyProof(b []byte, want ed25519.PublicKey) (*Proof, ed25519.PublicKey, error) {
	bad := func(format string, args ...any) (*Proof, ed25519.PublicKey, error) {
		return nil, nil, fmt.Errorf("%w: %s", ErrBadProof, fmt.Sprintf(format, args...))
	}
	if len(b) > maxProofSize {
		return bad("larger than %d bytes", maxProofSize)
	}
	var sp SignedProof
	if err := decodeStrict(bytes.NewReader(b), &sp); err != nil {
		return bad("%v", err)
	}
	if canon, err := marshalProof(sp); err != nil || !bytes.Equal(canon, b) {
		return bad("the file was altered (not in its signed form)")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(sp.PublicKey)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return bad("malformed public key")
	}
	pub := ed25519.PublicKey(raw)
	if sp.KeyID != AuditKeyID(pub) {
		return bad("key id does not match the key")
	}
	if want != nil && !pub.Equal(want) {
		return bad("signed by audit key %s, not the relay's %s", sp.KeyID, AuditKeyID(want))
	}
	// The relay signed the compact form; the file shows it indented.
	var body bytes.Buffer
	if err := json.Compact(&body, sp.Proof); err != nil {
		return bad("%v", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sp.Signature)
	if err != nil || !ed25519.Verify(pub, append([]byte(proofDomain), body.Bytes()...), sig) {
		return bad("bad signature")
	}
	var p Proof
	if err := decodeStrict(bytes.NewReader(sp.Proof), &p); err != nil {
		return bad("%v", err)
	}
	if p.Version != ProofVersion {
		return bad("unknown version %d", p.Version)
	}
	if p.Checkpoint == nil {
		return bad("no audit checkpoint")
	}
	if err := p.Checkpoint.Verify(pub); err != nil {
		return bad("%v", err)
	}
	for _, e := range p.Events {
		if e.Drop != p.Drop {
			return bad("audit line %d is about another drop", e.Seq)
		}
		if e.Seq >= p.Checkpoint.Seq {
			return bad("audit line %d is not covered by checkpoint %d", e.Seq, p.Checkpoint.Seq)
		}
		// The recipient keys the proof names are those the hash-chained
		// create line recorded.
		if e.Event == EventCreate && !slices.Equal(e.Keys, recipientFingerprints(p.RecipientKeys)) {
			return bad("the recipient keys differ from those of audit line %d", e.Seq)
		}
	}
	for _, r := range p.SignedReceipts {
		if len(p.RecipientKeys) > 0 && !slices.Contains(recipientFingerprints(p.RecipientKeys), r.Signer) {
			return bad("a receipt is signed by %s, not a key the drop is encrypted to", r.Signer)
		}
	}
	return &p, pub, nil
}
