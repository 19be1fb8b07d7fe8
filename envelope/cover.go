package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// CoverNotation is the name of the OpenPGP notation (RFC 4880 §5.2.3.16,
// RFC 9580 §5.2.3.24) that carries a message's Cover. It sits in the
// hashed area of the document's signature, which is itself inside the
// encrypted data: only a recipient reads it, and the signature covers it.
// It is flagged human-readable and never critical, so that tools which do
// not know it (gpg, sq, OpenPGP.js) still verify the message.
//
// The value is UTF-8 JSON, at most MaxCoverSize bytes:
//
//	{"v":1,"deadline":"2026-12-02T09:30:00+01:00","reference":"PV 2026/1234"}
//
// "v" is 1; "deadline" (RFC 3339, with offset) and "reference" are each
// optional. Readers ignore members they do not know and refuse another
// "v". See docs/cover.md.
const CoverNotation = "cover@sealprint.org"

// MaxCoverSize bounds a cover's JSON; MaxReference bounds its reference.
const (
	MaxCoverSize = 1024
	MaxReference = 200
)

// Cover is what travels with a document, sealed with it, for the
// recipient: the custody deadline ("échéance") and the procedure
// reference.
type Cover struct {
	// Deadline is the custody deadline; zero when there is none.
	Deadline time.Time
	// Reference is the procedure reference (e.g. "PV 2026/001234").
	Reference string
}

// IsZero reports whether c carries nothing.
func (c Cover) IsZero() bool { return c.Deadline.IsZero() && c.Reference == "" }

type coverJSON struct {
	V         int    `json:"v"`
	Deadline  string `json:"deadline,omitempty"`
	Reference string `json:"reference,omitempty"`
}

// Check validates c's reference.
func (c Cover) Check() error {
	if len(c.Reference) > MaxReference || !utf8.ValidString(c.Reference) {
		return fmt.Errorf("procedure reference: at most %d characters of text", MaxReference)
	}
	for _, r := range c.Reference {
		if r < 0x20 || r == 0x7f {
			return errors.New("procedure reference: no control characters")
		}
	}
	return nil
}

// MarshalCover encodes c as the notation's value.
func MarshalCover(c Cover) ([]byte, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	v := coverJSON{V: 1, Reference: c.Reference}
	if !c.Deadline.IsZero() {
		v.Deadline = c.Deadline.Format(time.RFC3339)
	}
	return json.Marshal(v)
}

// ParseCover decodes a notation's value.
func ParseCover(b []byte) (Cover, error) {
	var c Cover
	if len(b) > MaxCoverSize {
		return c, errors.New("cover: too large")
	}
	var v coverJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return c, fmt.Errorf("cover: %w", err)
	}
	if v.V != 1 {
		return c, fmt.Errorf("cover: unknown version %d", v.V)
	}
	if v.Deadline != "" {
		t, err := time.Parse(time.RFC3339, v.Deadline)
		if err != nil {
			return c, fmt.Errorf("cover: deadline: %w", err)
		}
		c.Deadline = t
	}
	c.Reference = v.Reference
	if err := c.Check(); err != nil {
		return Cover{}, fmt.Errorf("cover: %w", err)
	}
	return c, nil
}

// coverNotations returns the signature notations carrying c (none when c
// is empty).
func coverNotations(c Cover) ([]*packet.Notation, error) {
	if c.IsZero() {
		return nil, nil
	}
	b, err := MarshalCover(c)
	if err != nil {
		return nil, err
	}
	return []*packet.Notation{{Name: CoverNotation, Value: b, IsHumanReadable: true}}, nil
}

// coverFrom finds the cover among a signature's notations.
func coverFrom(sig *packet.Signature) (Cover, bool) {
	if sig == nil {
		return Cover{}, false
	}
	for _, n := range sig.Notations {
		if n.Name == CoverNotation {
			c, err := ParseCover(n.Value)
			return c, err == nil
		}
	}
	return Cover{}, false
}
