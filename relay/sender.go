package relay

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// CreateSender enrols a sender: it stores a new Sender with the hash of a
// fresh token and returns the sender and the token (shown once).
func CreateSender(ctx context.Context, st Store, name, email string, now time.Time) (*Sender, string, error) {
	token, hash, err := NewToken(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, "", err
	}
	snd := &Sender{
		ID:        fmt.Sprintf("s_%x", b),
		Name:      name,
		Email:     email,
		TokenHash: hash,
		CreatedAt: now.UTC(),
	}
	if err := st.AddSender(ctx, snd); err != nil {
		return nil, "", err
	}
	return snd, token, nil
}
