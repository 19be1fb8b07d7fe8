package spooler

import (
	"context"
	"io"
	"time"
)

// Renderer turns a job's document into one PDF, streaming from in to out.
// It must not write temp files.
type Renderer interface {
	Render(ctx context.Context, job *Job, in io.Reader, out io.Writer) (RenderResult, error)
}

// RenderResult is what a Renderer reports about the PDF it made, kept in the
// job's record.
type RenderResult struct {
	Pages int
	// PDFA is "yes" when the PDF was made as PDF/A, "unknown" otherwise
	// (a PDF passed through as printed).
	PDFA string
}

// Sealer signs and encrypts a PDF for job.Recipients. What is written to
// the returned writer is sealed into dst; Close finishes the message. If
// the writer has a method SessionKey() []byte, the key is kept (encrypted)
// to check receipts; if it has PDFSignature() string, that description of
// the PDF's own signature is kept in the job's record; if it has
// SealedKeys() []SealedKey, the keys are kept and passed to Deliver.
type Sealer interface {
	Seal(ctx context.Context, job *Job, dst io.Writer) (io.WriteCloser, error)
}

// Deliverer puts sealed jobs on the relay and reads their status.
type Deliverer interface {
	// Deliver creates the drop (idempotent on req.JobID), uploads body and
	// completes the drop. Calling it again for the same job after a crash
	// must return the same drop.
	Deliver(ctx context.Context, req Delivery, body io.ReaderAt) (Drop, error)
	// Status reads a drop's state on the relay.
	Status(ctx context.Context, dropID string) (DropStatus, error)
	// Revoke deletes a drop on the relay.
	Revoke(ctx context.Context, dropID string) error
}

// Delivery describes a sealed job to upload.
type Delivery struct {
	JobID      string
	Size       int64
	SHA256     string // hex of the sealed file
	Recipients []string
	// SealedKeys are the keys the sealed file is encrypted to.
	SealedKeys []SealedKey
	// Options are the job's send options; AccessCode the code the relay
	// must require (link mode with Options.Code).
	Options    SendOptions
	AccessCode string
	// SessionKey is the sealed message's session key, from which the
	// reply verifier is derived (nil: the drop takes no replies).
	SessionKey []byte
}

// SealedKey names a key a sealed job is encrypted to: the certificate's
// fingerprint, the fingerprint of the (sub)key its key packet names, and
// the recipient address it was chosen for ("" for the archive key).
type SealedKey struct {
	Fingerprint   string `json:"fingerprint"`
	EncryptionKey string `json:"encryption_key"`
	Address       string `json:"address,omitempty"`
}

// SignedReceipt is a recipient's signature of a receipt (see
// Options.CheckSignedReceipt): the signer key's fingerprint, the
// signature and the time the signed statement gives.
type SignedReceipt struct {
	Signer    string
	Signature string
	SignedAt  time.Time
}

// Drop is a delivered job on the relay.
type Drop struct {
	ID        string
	Link      string
	ExpiresAt time.Time
	// CodeSentVia says how the relay sent the access code ("sms:+33••••78",
	// "mail:p…@x.fr"); empty when the sender passes it on.
	CodeSentVia string
}

// DropStatus is what the relay reports about a drop.
type DropStatus struct {
	// State is pending, ready, expired, revoked, locked or exhausted.
	State     string
	Downloads int
	// Receipts are the proofs of decryption posted by recipients (hex).
	Receipts  []string
	ExpiresAt time.Time
	// Checkpoint is the relay's latest signed audit checkpoint (opaque
	// JSON), kept in the job as a witness; nil if the relay gave none.
	Checkpoint []byte
	// ReceiptTimes are when each receipt was posted (same order).
	ReceiptTimes []time.Time
	// Signed are the recipients' signatures of the receipts (same order;
	// the zero value for a receipt that is not signed).
	Signed []SignedReceipt
	// LinkProofs are the receipts' HMACs keyed from the link secret that
	// opened the drop (same order; "" when a receipt has none).
	LinkProofs []string
	// NotifiedAt is when the relay mailed the recipients (zero: not).
	NotifiedAt time.Time
	// Replies are the recipients' replies to the drop, oldest first.
	Replies []Reply
}

// Reply is a recipient's reply to a job's drop, as the relay reports it:
// ciphertext for the sender's key, fetched and opened with
// 'sealprint open --reply ID'.
type Reply struct {
	ID        string    `json:"id"`
	State     string    `json:"state"` // pending, ready, expired
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at,omitzero"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"` // hex of the ciphertext
}
