package relay

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// OrgTokenPrefix starts organisation tokens; sender credentials start
// with "spt_". 'sealprint enroll' tells them apart by it.
const OrgTokenPrefix = "spo_"

// TokenSpec describes a token to create.
type TokenSpec struct {
	Kind  string // KindSender (default) or KindOrg
	Name  string // the sender's name, or the organisation's for KindOrg
	Email string // the sender's address (notifications)
	Org   string // the organisation that vouches
	// Uses bounds the enrolments of an organisation token (0: no limit).
	Uses int
	// ExpiresAt, when set, ends the token's validity.
	ExpiresAt time.Time
	Parent    string
	KeyFPR    string
}

// CreateSender enrols a sender: it stores a new Sender with the hash of a
// fresh token and returns the sender and the token (shown once).
func CreateSender(ctx context.Context, st Store, name, email string, now time.Time) (*Sender, string, error) {
	return CreateToken(ctx, st, TokenSpec{Name: name, Email: email}, now)
}

// CreateToken stores a new sender credential or organisation token and
// returns it with the token, which is shown once: only its hash is kept.
func CreateToken(ctx context.Context, st Store, spec TokenSpec, now time.Time) (*Sender, string, error) {
	kind := spec.Kind
	if kind == "" {
		kind = KindSender
	}
	if kind != KindSender && kind != KindOrg {
		return nil, "", fmt.Errorf("token: unknown kind %q", kind)
	}
	token, hash, err := NewToken(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	prefix := "s_"
	if kind == KindOrg {
		token = OrgTokenPrefix + token[len("spt_"):]
		hash = TokenHash(token)
		prefix = "o_"
	}
	id, err := randomID(prefix)
	if err != nil {
		return nil, "", err
	}
	uses := -1
	if kind == KindOrg && spec.Uses > 0 {
		uses = spec.Uses
	}
	snd := &Sender{
		ID: id, Name: spec.Name, Email: spec.Email, TokenHash: hash, CreatedAt: now.UTC(),
		Kind: kind, Org: spec.Org, ExpiresAt: spec.ExpiresAt.UTC(), UsesLeft: uses,
		Parent: spec.Parent, KeyFPR: spec.KeyFPR,
	}
	if spec.ExpiresAt.IsZero() {
		snd.ExpiresAt = time.Time{}
	}
	if err := st.AddSender(ctx, snd); err != nil {
		return nil, "", err
	}
	return snd, token, nil
}

func randomID(prefix string) (string, error) {
	var b [9]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%x", prefix, b), nil
}

// RevokeToken revokes a sender credential or organisation token by id:
// the running relay refuses it from the next request on.
func RevokeToken(ctx context.Context, st Store, id string, now time.Time) (*Sender, error) {
	return st.UpdateSender(ctx, id, func(s *Sender) error {
		if s.RevokedAt.IsZero() {
			s.RevokedAt = now.UTC()
		}
		return nil
	})
}

// ApproveSender records that an administrator checked the sender's
// identity (the address in its bound key's user ID): the relay vouches for
// it from now on.
func ApproveSender(ctx context.Context, st Store, id string) (*Sender, error) {
	return st.UpdateSender(ctx, id, func(s *Sender) error {
		if s.Kind == KindOrg {
			return errors.New("an organisation token is not a sender")
		}
		if s.KeyFPR == "" {
			return errors.New("this sender has no bound key yet: it is bound at enrolment or with its first drop")
		}
		s.Verified = true
		return nil
	})
}

// errTokenRefused is a token that exists but cannot be used; its text is
// the reason told to the client.
type errTokenRefused struct{ reason string }

func (e errTokenRefused) Error() string { return e.reason }
