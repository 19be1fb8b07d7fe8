package relayapi

import "time"

// Drop states, as the relay reports them.
const (
	StatePending   = "pending"   // created, ciphertext not yet complete
	StateReady     = "ready"     // ciphertext stored and verified
	StateExpired   = "expired"   // past its expiry; blob deleted
	StateRevoked   = "revoked"   // revoked by its sender; blob deleted
	StateLocked    = "locked"    // too many wrong access codes
	StateExhausted = "exhausted" // download limit reached
)

// Drop modes.
const (
	ModeKey  = "key"  // encrypted to the recipients' OpenPGP keys
	ModeLink = "link" // encrypted to a secret carried in the link's fragment
)

// CreateDropRequest is the body of POST /api/v1/drops.
type CreateDropRequest struct {
	IdempotencyKey   string   `json:"idempotency_key,omitempty"`
	Size             int64    `json:"size"`
	SHA256           string   `json:"sha256"` // hex of the ciphertext
	Recipients       []string `json:"recipients,omitempty"`
	Mode             string   `json:"mode"` // ModeKey or ModeLink
	ExpiresInSeconds int64    `json:"expires_in_seconds,omitempty"`
	MaxDownloads     *int     `json:"max_downloads,omitempty"` // nil: relay default; 0: no limit
	AccessCode       string   `json:"access_code,omitempty"`
	SenderKey        string   `json:"sender_key,omitempty"` // armored public key
	Notify           bool     `json:"notify,omitempty"`     // mail the recipients once ready
	// RecipientKeys are the keys the sealed document is encrypted to (the
	// recipients' and the archive key), stated by the sender's client: the
	// relay checks them against the message's key packets at completion
	// and names them in the proof of delivery.
	RecipientKeys []RecipientKey `json:"recipient_keys,omitempty"`
	// ReplyVerifier, when set, lets recipients reply: hex(SHA-256(reply
	// key)), see ReplyGrantRequest. Without it the drop takes no replies.
	ReplyVerifier string `json:"reply_verifier,omitempty"`
}

// CreateDropResponse is the answer to POST /api/v1/drops: 201 for a new
// drop, 200 when the idempotency key names an existing one.
type CreateDropResponse struct {
	ID        string    `json:"id"`
	State     string    `json:"state"`
	UploadURL string    `json:"upload_url"`
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DropInfo is the public answer of GET /api/v1/drops/{id}, given to anyone
// holding the id.
type DropInfo struct {
	ID                string    `json:"id"`
	State             string    `json:"state"`
	Size              int64     `json:"size"`
	ExpiresAt         time.Time `json:"expires_at"`
	DownloadsLeft     *int      `json:"downloads_left"` // null: no limit
	NeedsCode         bool      `json:"needs_code"`
	Mode              string    `json:"mode"`
	Sender            string    `json:"sender"`
	SenderKey         string    `json:"sender_key,omitempty"`
	SenderFingerprint string    `json:"sender_fingerprint,omitempty"`
	// SenderVerified is true when the relay vouches for the sender: the
	// drop's sender key is the key bound to the sender's credential at
	// enrolment and its address was proven or approved. SenderOrg names
	// the organisation that vouches.
	SenderVerified bool   `json:"sender_verified"`
	SenderOrg      string `json:"sender_org,omitempty"`
	// ReplyMaxSize, when not 0, says the recipient may reply securely to
	// the sender's bound key, with at most this many bytes of ciphertext.
	ReplyMaxSize int64 `json:"reply_max_size,omitempty"`
}

// DropStatus is the sender's answer of GET /api/v1/drops/{id}/status.
type DropStatus struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	Size         int64     `json:"size"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Downloads    int       `json:"downloads"`
	MaxDownloads int       `json:"max_downloads"`
	CodeFailures int       `json:"code_failures"`
	Receipts     []Receipt `json:"receipts"`
	// Checkpoint is the audit log's latest signed checkpoint: the sender
	// keeps it, and a relay that rewrites history later contradicts it.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// NotifiedAt is when the relay handed the recipients' mails to its
	// SMTP server (zero: not mailed, e.g. no SMTP or not asked).
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// Replies are the recipients' replies to the drop, oldest first.
	Replies []Reply `json:"replies,omitempty"`
}

// Receipt is a recipient's proof that it decrypted a drop: an HMAC-SHA256
// in hex, keyed from the message's session key.
type Receipt struct {
	At    time.Time `json:"at"`
	Proof string    `json:"proof"`
	// LinkProof is the receipt's HMAC keyed from the link secret that
	// opened the drop ("" when none was posted): the sender, who keeps
	// each recipient's secret, tells by it which recipient opened.
	LinkProof string `json:"link_proof,omitempty"`
	// Download is the download whose receipt token came with it.
	Download int `json:"download,omitempty"`
	// Signer, Signature and SignedAt are set on a receipt signed with the
	// recipient's own key (see ReceiptStatement): the sender checks the
	// signature against the recipient's pinned key, so it knows which
	// recipient opened the document.
	Signer    string    `json:"signer,omitempty"`
	Signature string    `json:"signature,omitempty"`
	SignedAt  time.Time `json:"signed_at,omitzero"`
}

// ChaseResponse is the answer to POST /api/v1/drops/{id}/chase: whether
// the relay mailed the sender a reminder.
type ChaseResponse struct {
	Mailed bool `json:"mailed"`
}

// CodeSendRequest is the body of POST /api/v1/drops/{id}/code/send: the
// sender hands the drop's access code to the relay once, to be sent over
// a second channel and forgotten.
type CodeSendRequest struct {
	Code string `json:"code"`
	// To is "sms:+33612345678" or "mail:ADDRESS" (not a recipient of the
	// link's mail).
	To string `json:"to"`
}

// CodeSendResponse says which channel carried the code, and to whom
// (partly masked).
type CodeSendResponse struct {
	SentVia string `json:"sent_via"` // "sms" or "mail"
	To      string `json:"to"`
}

// CodeRequest is the body of POST /api/v1/drops/{id}/code.
type CodeRequest struct {
	Code string `json:"code"`
}

// CodeResponse grants a short-lived download after a right access code.
type CodeResponse struct {
	Grant     string `json:"grant"`
	ExpiresIn int    `json:"expires_in"` // seconds
}

// ReceiptRequest is the body of POST /api/v1/drops/{id}/receipt.
type ReceiptRequest struct {
	Proof string `json:"proof"`
	// LinkProof, in link mode, is the HMAC-SHA256 keyed from the link
	// secret that opened the drop (64 hex digits, see
	// envelope.LinkReceiptProof): when each recipient has a secret of its
	// own, the sender tells by it who opened. Optional.
	LinkProof string `json:"link_proof,omitempty"`
	// Token is the one-time receipt token of the download (the blob
	// response's X-Sealprint-Receipt-Token header).
	Token string `json:"token"`
	// Signer is the fingerprint of the recipient key that signed the
	// receipt statement; Signature the OpenPGP detached signature
	// (binary, base64) of ReceiptStatement(drop, sha256, SignedAt).
	// All three or none.
	Signer    string    `json:"signer,omitempty"`
	Signature string    `json:"signature,omitempty"`
	SignedAt  time.Time `json:"signed_at,omitzero"`
}

// Error is the JSON body of every error answer.
type Error struct {
	Error        string `json:"error"`
	State        string `json:"state,omitempty"`         // the drop's state, for 410 and 423
	AttemptsLeft *int   `json:"attempts_left,omitempty"` // after a wrong access code
	Rule         string `json:"rule,omitempty"`          // the policy rule refused (403), see Rule*
}

// Headers of the blob download and its access grant.
const (
	HeaderSHA256 = "X-Sealprint-SHA256"
	HeaderGrant  = "X-Sealprint-Grant"
	// HeaderReceiptToken, on a blob response, is the one-time token a
	// receipt for that download must carry.
	HeaderReceiptToken = "X-Sealprint-Receipt-Token"
	// HeaderDownload carries the token of one counted download: the
	// relay sends it with the first answer, and a range request that
	// continues the download (starting past byte 0) sends it back.
	HeaderDownload = "X-Sealprint-Download"
)

// EnrollRequest is the body of POST /api/v1/enroll, sent with an
// organisation token: the sender's public signing key, which the relay
// binds to the credential it returns.
type EnrollRequest struct {
	SenderKey string `json:"sender_key"` // armored public key
}

// EnrollResponse is the answer to POST /api/v1/enroll. Token is the
// sender's own credential, shown once.
type EnrollResponse struct {
	Token       string `json:"token"`
	SenderID    string `json:"sender_id"`
	Org         string `json:"org"`
	Fingerprint string `json:"fingerprint"`
	Email       string `json:"email"`
	// Verified is false until the address is proven or an administrator
	// approves the sender ('sealrelay senders approve').
	Verified bool `json:"verified"`
}
