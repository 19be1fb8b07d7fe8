package keystore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// Pin records that email's key has this fingerprint (trust on first use,
// or set from the IT address book). Later lookups that return another key
// for the address are refused until the user accepts it with Pin again.
func (s *Store) Pin(email, fingerprint string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	fingerprint = strings.ToUpper(fingerprint)
	if email == "" || !isHex(fingerprint) {
		return fmt.Errorf("pin: invalid email %q or fingerprint %q", email, fingerprint)
	}
	pins, err := s.pins()
	if err != nil {
		return err
	}
	pins[email] = fingerprint
	b, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.dir, "pins.json"), append(b, '\n'), 0o644)
}

// Pinned returns the fingerprint pinned for email, if any.
func (s *Store) Pinned(email string) (string, bool) {
	pins, err := s.pins()
	if err != nil {
		return "", false
	}
	f, ok := pins[strings.ToLower(strings.TrimSpace(email))]
	return f, ok
}

// Pins returns all pins (email → fingerprint).
func (s *Store) Pins() (map[string]string, error) { return s.pins() }

func (s *Store) pins() (map[string]string, error) {
	pins := map[string]string{}
	b, err := os.ReadFile(filepath.Join(s.dir, "pins.json"))
	if errors.Is(err, os.ErrNotExist) {
		return pins, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &pins); err != nil {
		return nil, fmt.Errorf("pins.json: %w", err)
	}
	return pins, nil
}

// ErrKeyChanged is returned when a key found for an address differs from
// the pinned one.
var ErrKeyChanged = errors.New("KEY CHANGED")

// CheckPin compares a candidate fingerprint for email with the pin. It
// returns nil if there is no pin or it matches, else an error wrapping
// ErrKeyChanged that names both fingerprints.
func (s *Store) CheckPin(email, fingerprint string) error {
	pinned, ok := s.Pinned(email)
	if !ok || pinned == strings.ToUpper(fingerprint) {
		return nil
	}
	return fmt.Errorf("%w for %s: pinned %s, offered %s; if the recipient really has a new key, accept it with 'sealprint keys pin %s %s'",
		ErrKeyChanged, email, pinned, strings.ToUpper(fingerprint), email, strings.ToUpper(fingerprint))
}
