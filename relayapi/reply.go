package relayapi

import "time"

// Replies: the recipient of a drop answers its sender through the relay.
// A reply is ciphertext encrypted in the recipient's browser to the
// sender's bound key; the relay ties it to the original drop (one reply
// thread per drop, several replies) and hands it only to that drop's
// sender. Creating one needs a reply grant, obtained with proof that the
// original was downloaded and decrypted.

// ModeReply is the mode of a reply drop.
const ModeReply = "reply"

// HeaderReplyGrant carries a reply grant on the requests that create and
// upload a reply.
const HeaderReplyGrant = "X-Sealprint-Reply-Grant"

// ReplyKeyLen is the length in bytes of a reply key (hex: twice that).
const ReplyKeyLen = 32

// ReplyGrantRequest is the body of POST /api/v1/drops/{id}/reply-grant.
type ReplyGrantRequest struct {
	// Token is the receipt token of a download of the drop (the blob
	// response's X-Sealprint-Receipt-Token header).
	Token string `json:"token"`
	// ReplyKey is hex(SHA-256("sealprint-reply" ‖ session key)): only
	// someone who decrypted the drop knows it. The sender gave the relay
	// its SHA-256 (CreateDropRequest.ReplyVerifier) when creating the drop.
	ReplyKey string `json:"reply_key"`
}

// ReplyGrantResponse is the answer to POST /api/v1/drops/{id}/reply-grant.
type ReplyGrantResponse struct {
	Grant string `json:"grant"`
	// ExpiresAt is when the grant ends: the original drop's expiry.
	ExpiresAt time.Time `json:"expires_at"`
	// MaxSize is the largest reply ciphertext accepted, in bytes.
	MaxSize int64 `json:"max_size"`
}

// CreateReplyRequest is the body of POST /api/v1/drops/{id}/replies, sent
// with a reply grant.
type CreateReplyRequest struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex of the ciphertext
}

// CreateReplyResponse is the answer to POST /api/v1/drops/{id}/replies:
// upload the ciphertext with tus to UploadURL (with the grant, and
// Upload-Metadata "drop <reply id>"), then POST CompleteURL.
type CreateReplyResponse struct {
	ID          string    `json:"id"`
	UploadURL   string    `json:"upload_url"`
	CompleteURL string    `json:"complete_url"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Reply describes one reply to a drop, for its sender (in DropStatus and
// GET /api/v1/drops/{id}/replies).
type Reply struct {
	ID        string    `json:"id"`
	State     string    `json:"state"` // pending, ready, expired
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"` // hex of the ciphertext
	Downloads int       `json:"downloads"`
}

// RepliesResponse is the answer to GET /api/v1/drops/{id}/replies.
type RepliesResponse struct {
	Replies []Reply `json:"replies"`
}
