package relay

import (
	"context"
	"errors"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// ErrNotFound is returned by a Store when a drop or sender does not exist.
var ErrNotFound = errors.New("not found")

// Stored drop states. The state a client sees also depends on the clock and
// the download count (see Drop.StateAt).
const (
	StatePending   = relayapi.StatePending
	StateReady     = relayapi.StateReady
	StateExpired   = relayapi.StateExpired
	StateRevoked   = relayapi.StateRevoked
	StateLocked    = relayapi.StateLocked
	StateExhausted = relayapi.StateExhausted
)

// Sender is an enrolled sender: the holder of one enrolment token.
type Sender struct {
	// ID is a short random identifier, used in drops and the audit log.
	ID string
	// Name is the human name given at `sealrelay token create --name`.
	Name string
	// Email is where the relay mails the sender (optional).
	Email string
	// TokenHash is SHA-256 of the token; the token itself is never stored.
	TokenHash []byte
	// CreatedAt is when the token was created.
	CreatedAt time.Time
	// Kind is KindSender (a credential that sends) or KindOrg (an
	// organisation token, good only to enrol senders).
	Kind string
	// Org is the organisation that vouches for the sender (or that the
	// organisation token enrols for); "" for a sender made without one.
	Org string
	// ExpiresAt, when set, ends the token's validity.
	ExpiresAt time.Time
	// RevokedAt, when set, is when an administrator revoked the token.
	RevokedAt time.Time
	// UsesLeft counts the enrolments an organisation token may still
	// make; -1 means no limit.
	UsesLeft int
	// Parent is the id of the organisation token that enrolled this
	// sender, if any.
	Parent string
	// KeyFPR is the fingerprint of the sender's bound signing key: the
	// relay refuses drops signed by another. "" until bound.
	KeyFPR string
	// Verified is true once the sender's address (the key's user ID) is
	// proven or approved by an administrator: the relay then vouches for
	// the identity in the drop information recipients see.
	Verified bool
}

// Kinds of token.
const (
	KindSender = "sender"
	KindOrg    = "org"
)

// TokenProblem says why a sender's token cannot be used now: "" when it
// can, else "revoked" or "expired".
func (s *Sender) TokenProblem(now time.Time) string {
	switch {
	case !s.RevokedAt.IsZero():
		return "revoked"
	case !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
		return "expired"
	}
	return ""
}

// Drop is the metadata of one sealed document. It never holds content.
type Drop struct {
	ID             string    // 22 characters of base64url
	SenderID       string    // the Sender who created it
	IdempotencyKey string    // sender-chosen retry key; "" if none
	Size           int64     // ciphertext bytes
	SHA256         string    // lowercase hex of the ciphertext
	Recipients     []string  // addresses, for notifications
	Mode           string    // "key" or "link"
	CreatedAt      time.Time // UTC
	ExpiresAt      time.Time // UTC
	MaxDownloads   int       // 0: no limit
	Downloads      int       // downloads so far
	CodeHash       string    // encoded argon2id hash of the access code; "" if none
	CodeFailures   int       // wrong codes so far (attempts in flight count too)
	State          string    // one of the State* constants, as stored
	SenderKey      string    // armored public key of the sender (optional)
	SenderFPR      string    // uppercase hex fingerprint of SenderKey
	Notify         bool      // mail the recipients once ready
	ReadyAt        time.Time // zero until ready
	// RecipientKeys are the keys the sender's client says the document is
	// encrypted to, checked against the message's key packets at
	// completion (nil: not stated, by a client from before).
	RecipientKeys []relayapi.RecipientKey
	ReplyTo       string // for a reply: the id of the drop it answers; "" otherwise
	ReplyVerifier string // hex SHA-256 of the reply key; "" when the drop takes no replies
}

// IsReply reports whether d is a recipient's reply to another drop.
func (d *Drop) IsReply() bool { return d.ReplyTo != "" }

// Attempt is the outcome of Store.CountCodeAttempt.
type Attempt int

// Outcomes of Store.CountCodeAttempt.
const (
	AttemptCounted Attempt = iota // counted; check the code
	AttemptLocked                 // this attempt locked the drop
	AttemptRefused                // the drop is not ready (locked, expired…)
)

// StateAt is the state a client sees at time now: stored terminal states
// first, then expiry, then the download limit.
func (d *Drop) StateAt(now time.Time) string {
	switch d.State {
	case StateRevoked, StateLocked, StateExpired, StateExhausted:
		return d.State
	}
	if !now.Before(d.ExpiresAt) {
		return StateExpired
	}
	if d.MaxDownloads > 0 && d.Downloads >= d.MaxDownloads {
		return StateExhausted
	}
	return d.State
}

// NeedsCode reports whether downloading requires an access code grant.
func (d *Drop) NeedsCode() bool { return d.CodeHash != "" }

// Store keeps senders, drops and receipts. The embedded implementation is
// SQLite (OpenSQLite); a shared database can implement the same interface
// for several relay replicas.
type Store interface {
	// AddSender stores a new sender.
	AddSender(ctx context.Context, s *Sender) error
	// SenderByTokenHash returns the sender whose token hashes to h, or
	// ErrNotFound.
	SenderByTokenHash(ctx context.Context, h []byte) (*Sender, error)
	// Sender returns the sender with this id, or ErrNotFound.
	Sender(ctx context.Context, id string) (*Sender, error)
	// Senders returns every sender and organisation token, oldest first.
	Senders(ctx context.Context) ([]*Sender, error)
	// UpdateSender applies fn to the sender with this id in one
	// transaction (ErrNotFound if none); an error from fn changes
	// nothing. It stores Kind-independent fields: ExpiresAt, RevokedAt,
	// UsesLeft, KeyFPR and Verified.
	UpdateSender(ctx context.Context, id string, fn func(s *Sender) error) (*Sender, error)
	// CreateDrop stores d. If d.IdempotencyKey is set and the same sender
	// already has a drop with that key, nothing is stored and the existing
	// drop is returned with created == false.
	CreateDrop(ctx context.Context, d *Drop) (existing *Drop, created bool, err error)
	// DropByIdempotencyKey returns the sender's drop created with key, or
	// ErrNotFound.
	DropByIdempotencyKey(ctx context.Context, senderID, key string) (*Drop, error)
	// Drop returns the drop with this id, or ErrNotFound.
	Drop(ctx context.Context, id string) (*Drop, error)
	// UpdateDrop reads the drop, calls fn on it and stores the result, all
	// atomically with respect to other updates. If fn returns an error,
	// nothing is stored and that error is returned.
	UpdateDrop(ctx context.Context, id string, fn func(d *Drop) error) (*Drop, error)
	// CountDownload counts one download in the same step as the check
	// that the drop may still be downloaded (ready, not expired at now,
	// under its limit), so that replicas sharing the store never hand out
	// more than the limit. then, if not nil, runs inside the same
	// transaction once the download is counted (the audit record); its
	// error undoes the count. ok is false when the drop may not be
	// downloaded; d is then the drop as stored. A shared database may use
	// its own clock instead of now.
	CountDownload(ctx context.Context, id string, now time.Time, then func(d *Drop) error) (d *Drop, ok bool, err error)
	// CountCodeAttempt counts an access-code attempt on a ready drop before
	// the code is checked: with fewer than max failures so far it adds one
	// (AttemptCounted); at max it locks the drop instead (AttemptLocked).
	// then, if not nil, runs inside the same transaction for those two
	// outcomes; its error undoes the change. AttemptRefused means the drop
	// is not ready (d is as stored).
	CountCodeAttempt(ctx context.Context, id string, max int, then func(d *Drop, a Attempt) error) (d *Drop, outcome Attempt, err error)
	// AddReceipt appends a receipt to a drop.
	AddReceipt(ctx context.Context, id string, r relayapi.Receipt) error
	// Receipts returns a drop's receipts, oldest first.
	Receipts(ctx context.Context, id string) ([]relayapi.Receipt, error)
	// Drops returns every drop, newest first.
	Drops(ctx context.Context) ([]*Drop, error)
	// Replies returns the replies to drop id (drops whose ReplyTo is
	// id), oldest first.
	Replies(ctx context.Context, id string) ([]*Drop, error)
	// DropsToSweep returns drops whose blob or upload may need deleting:
	// pending or ready drops that expired before now or reached their
	// download limit.
	DropsToSweep(ctx context.Context, now time.Time) ([]*Drop, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
