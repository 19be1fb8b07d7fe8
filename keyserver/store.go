package keyserver

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store when nothing matches.
var ErrNotFound = errors.New("not found")

// Record is one key in the directory.
type Record struct {
	// Fingerprint is the primary key's fingerprint, upper-case hex.
	Fingerprint string `json:"fingerprint"`
	// Key is the binary key with every user ID, published or not. It is
	// never served as is: see Cert.Serialize.
	Key []byte `json:"key"`
	// KeyIDs are the key IDs and fingerprints of the primary key and subkeys.
	KeyIDs []string `json:"key_ids"`
	// Verified lists the addresses whose owner confirmed them, sorted.
	Verified []string `json:"verified,omitempty"`
	// Updated is the time of the last change.
	Updated time.Time `json:"updated"`
}

// Token kinds.
const (
	tokenUpload = "upload" // names an uploaded key, reusable until expiry
	tokenVerify = "verify" // publishes one address of one key, single use
	tokenManage = "manage" // unpublishes one address, single use
)

// Token is a capability sent to a client or mailed to an address. The store
// keeps only the SHA-256 of the secret.
type Token struct {
	Hash        string    `json:"hash"`
	Kind        string    `json:"kind"`
	Fingerprint string    `json:"fingerprint"`
	Email       string    `json:"email,omitempty"`
	Expires     time.Time `json:"expires"`
}

// Store persists the directory. The embedded default is FileStore; a
// shared database can implement it for several relay replicas. Mutations
// of one key are serialized by the handler; Put maintains the indexes.
type Store interface {
	// Get returns the record of a primary fingerprint or ErrNotFound.
	Get(ctx context.Context, fingerprint string) (*Record, error)
	// Put creates or replaces a record and updates the indexes: key IDs,
	// subkey fingerprints, verified addresses and their WKD hashes.
	Put(ctx context.Context, r *Record) error
	// Delete removes a record and its index entries.
	Delete(ctx context.Context, fingerprint string) error
	// ByEmail returns the fingerprints for which email is verified.
	ByEmail(ctx context.Context, email string) ([]string, error)
	// ByKeyID returns the primary fingerprints of keys having a primary
	// key or subkey with this key ID (16 hex digits) or fingerprint.
	ByKeyID(ctx context.Context, id string) ([]string, error)
	// ByWKD returns the fingerprints of keys with a verified address in
	// domain whose local part hashes to hash (see WKDHash).
	ByWKD(ctx context.Context, domain, hash string) ([]string, error)
	// List returns every primary fingerprint.
	List(ctx context.Context) ([]string, error)

	// PutToken stores a token.
	PutToken(ctx context.Context, t *Token) error
	// GetToken returns the token with this hash, or ErrNotFound, also
	// when it has expired.
	GetToken(ctx context.Context, hash string) (*Token, error)
	// DeleteToken removes a token; a missing token is not an error.
	DeleteToken(ctx context.Context, hash string) error
	// TakeToken removes and returns the live token of this kind with
	// this hash in one step, so that a single-use token is consumed once
	// whichever process (replica) the concurrent requests reach; it
	// returns ErrNotFound when there is none (missing, expired, already
	// taken) and leaves a token of another kind alone.
	TakeToken(ctx context.Context, hash, kind string) (*Token, error)
}

// Serializer is implemented by stores shared by several processes
// (PGStore): Serialize runs fn so that no other change to the directory,
// in any process, runs at the same time, and fn's store calls commit
// together.
type Serializer interface {
	Serialize(ctx context.Context, fn func(ctx context.Context) error) error
}

// DomainPolicy is implemented by stores that keep the list of domains
// allowed to publish (see Options.AllowedDomains).
type DomainPolicy interface {
	AllowedDomains() ([]string, error)
}

// indexKeys lists the index entries a record must have.
func indexKeys(r *Record) []string {
	var keys []string
	for _, id := range r.KeyIDs {
		keys = append(keys, "id:"+id)
	}
	for _, e := range r.Verified {
		local, domain := splitEmail(e)
		keys = append(keys, "email:"+e, "wkd:"+domain+"/"+WKDHash(local))
	}
	return keys
}
