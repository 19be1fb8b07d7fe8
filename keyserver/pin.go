package keyserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrKeyChanged is wrapped by the error Resolve returns when the key found
// for an address differs from the pinned one.
var ErrKeyChanged = errors.New("KEY CHANGED")

// Pins is the sender's record of which key belongs to which address
// (internal/keystore implements it).
type Pins interface {
	Pinned(email string) (fingerprint string, ok bool)
	Pin(email, fingerprint string) error
}

// Resolved is a key found and checked by Resolve.
type Resolved struct {
	Armored     []byte
	Fingerprint string
	Source      string
	// FirstUse is set when the address had no pin and Resolve pinned it.
	FirstUse bool
	// OnlyRelay is set when only the relay's directory had the key (the
	// address's own domain published none, or could not be asked).
	OnlyRelay bool
	// WKDUnreachable, with OnlyRelay, says why the domain's own key
	// directory could not be asked (its key was not compared); "" when it
	// answered that it has none.
	WKDUnreachable string
}

// ErrNewKey is returned by Resolve for an address seen for the first time
// when the caller's accept function does not confirm its fingerprint:
// nothing is pinned.
var ErrNewKey = errors.New("new key not confirmed")

// Resolve looks email up (see Lookup) and checks the result against the
// pins: with no pin, the fingerprint is pinned (trust on first use); with
// a different pin, it fails with ErrKeyChanged and pins nothing, until the
// user accepts the new key. On ErrKeyChanged the offered key is returned
// too, so that the caller can keep it for the user to inspect and accept.
//
// accept, when set, decides whether a key seen for the first time may be
// pinned (a person confirmed its fingerprint); when it refuses, Resolve
// returns the key with ErrNewKey and pins nothing. With accept nil, a
// first key is pinned (an explicit 'keys lookup', which shows it).
func Resolve(ctx context.Context, client *http.Client, relayURL, email string, pins Pins, accept func(*Resolved) bool) (*Resolved, error) {
	armored, source, werr, err := lookupWithWKD(ctx, client, relayURL, email)
	if err != nil {
		return nil, err
	}
	c, err := ParseCert(strings.NewReader(string(armored)))
	if err != nil {
		return nil, err
	}
	addr := NormalizeEmail(email)
	r := &Resolved{Armored: armored, Fingerprint: c.Fingerprint(), Source: source,
		OnlyRelay: relayURL != "" && strings.HasPrefix(source, strings.TrimRight(relayURL, "/"))}
	if r.OnlyRelay && werr != nil && !errors.Is(werr, ErrNoKey) {
		r.WKDUnreachable = clipText(werr.Error(), 160)
	}
	if err := CheckPin(pins, addr, r.Fingerprint); err != nil {
		return r, err
	}
	if _, ok := pins.Pinned(addr); !ok {
		if accept != nil && !accept(r) {
			where := "its domain's key directory (WKD)"
			switch {
			case r.OnlyRelay && r.WKDUnreachable != "":
				// Not the same as "publishes none": the domain's key
				// could not be compared with the relay's.
				where = "the relay's directory only (its domain's key directory could not be reached, so nothing was compared: " + r.WKDUnreachable + ")"
			case r.OnlyRelay:
				where = "the relay's directory only (its domain publishes no key)"
			}
			return r, NewKeyError(addr, r.Fingerprint, where)
		}
		if err := pins.Pin(addr, r.Fingerprint); err != nil {
			return nil, fmt.Errorf("pin %s: %w", addr, err)
		}
		r.FirstUse = true
	}
	return r, nil
}

// CheckPin returns nil when email has no pin or is pinned to fingerprint,
// and otherwise a loud error wrapping ErrKeyChanged naming both keys.
func CheckPin(pins Pins, email, fingerprint string) error {
	pinned, ok := pins.Pinned(email)
	if !ok || strings.EqualFold(pinned, fingerprint) {
		return nil
	}
	return fmt.Errorf("%w for %s: pinned %s, the directory now offers %s; it will not be used. "+
		"If the recipient confirms the new key (by phone, in person), accept it with 'sealprint keys pin %s %s'",
		ErrKeyChanged, email, strings.ToUpper(pinned), strings.ToUpper(fingerprint), email, strings.ToUpper(fingerprint))
}

// NewKeyError is the ErrNewKey Resolve returns for addr's first key
// fingerprint, found at where. The jobs page reads the address and the
// fingerprint back from these words to offer the confirmation.
func NewKeyError(addr, fingerprint, where string) error {
	return fmt.Errorf("%w: %s is written to for the first time; its key %s comes from %s. "+
		"Confirm the fingerprint with the recipient (by phone), then accept it with --accept-new-key %s "+
		"(sealprint send, or 'sealprint keys lookup %s --accept-new-key %s' before releasing a held printed job)",
		ErrNewKey, addr, fingerprint, where, fingerprint, addr, fingerprint)
}

// clipText shortens s to at most n bytes, on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
