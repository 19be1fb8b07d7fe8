package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/atomicfile"
)

// senderSecret is the name of the sender's secret key among the secrets.
const senderSecret = "sender-key"

// Store is the key store of one sealprint home directory.
type Store struct {
	dir     string
	secrets *Secrets
}

// Options configure Open.
type Options struct {
	// Keyring is where secrets go first; nil selects OSKeyring. NoKeyring
	// keeps them in the encrypted-file fallback only.
	Keyring Keyring
	// Notice receives the one-time message about the file fallback.
	Notice io.Writer
}

// Open returns the key store under home/keys.
func Open(home string, opts Options) (*Store, error) {
	dir := filepath.Join(home, "keys")
	if err := os.MkdirAll(filepath.Join(dir, "addressbook"), 0o700); err != nil {
		return nil, fmt.Errorf("open key store: %w", err)
	}
	ring := opts.Keyring
	if ring == nil {
		ring = OSKeyring()
	}
	return &Store{dir: dir, secrets: NewSecrets(filepath.Join(dir, "secrets"), ring, opts.Notice)}, nil
}

// Secrets returns the store's secret storage (keyring with file fallback),
// for other secrets such as the spool key.
func (s *Store) Secrets() *Secrets { return s.secrets }

// ErrNoSenderKey means no sender key has been generated or imported.
var ErrNoSenderKey = errors.New("no sender key: run 'sealprint keys generate --name NAME --email EMAIL'")

// SetSenderKey stores k (with secret parts) as the sender's key. A non-empty
// passphrase encrypts the secret key material. It returns where the secret
// went ("keyring" or "file").
func (s *Store) SetSenderKey(k *envelope.Key, passphrase []byte) (string, error) {
	if !k.IsSecret() {
		return "", errors.New("the sender key must include its secret part")
	}
	var sec bytes.Buffer
	if err := k.WriteSecret(&sec, true, passphrase); err != nil {
		return "", err
	}
	where, err := s.secrets.Set(senderSecret, sec.Bytes())
	if err != nil {
		return "", err
	}
	var pub bytes.Buffer
	if err := k.WritePublic(&pub, true); err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, "sender.asc"), pub.Bytes(), 0o644); err != nil {
		return "", err
	}
	return where, nil
}

// SenderPublic returns the sender's public key.
func (s *Store) SenderPublic() (*envelope.Key, error) {
	f, err := os.Open(filepath.Join(s.dir, "sender.asc"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSenderKey
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys, err := envelope.ReadKeys(f)
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	return keys[0], nil
}

// SenderKey returns the sender's secret key, unlocked with passphrase if
// it is protected.
func (s *Store) SenderKey(passphrase []byte) (*envelope.Key, error) {
	b, err := s.secrets.Get(senderSecret)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSenderKey
	}
	if err != nil {
		return nil, err
	}
	keys, err := envelope.ReadKeys(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	k := keys[0]
	if k.IsLocked() {
		if len(passphrase) == 0 {
			return nil, errors.New("the sender key is protected by a passphrase: set SEALPRINT_PASSPHRASE")
		}
		if err := k.Unlock(passphrase); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// AddRecipient stores a public key in the address book and returns its
// public form. Secret parts are never stored in the address book.
func (s *Store) AddRecipient(k *envelope.Key) (*envelope.Key, error) {
	pub := k.Public()
	var buf bytes.Buffer
	if err := pub.WritePublic(&buf, true); err != nil {
		return nil, err
	}
	path := filepath.Join(s.dir, "addressbook", pub.Fingerprint()+".asc")
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// RemoveRecipient deletes a key from the address book.
func (s *Store) RemoveRecipient(fingerprint string) error {
	fingerprint = strings.ToUpper(fingerprint)
	if !isHex(fingerprint) {
		return fmt.Errorf("invalid fingerprint %q", fingerprint)
	}
	return os.Remove(filepath.Join(s.dir, "addressbook", fingerprint+".asc"))
}

// Recipients returns every key in the address book, sorted by identity.
func (s *Store) Recipients() ([]*envelope.Key, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "addressbook", "*.asc"))
	if err != nil {
		return nil, err
	}
	var out []*envelope.Key
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		keys, err := envelope.ReadKeys(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("address book %s: %w", filepath.Base(p), err)
		}
		out = append(out, keys[0])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identity() < out[j].Identity() })
	return out, nil
}

// Find returns the address-book keys matching query: a full fingerprint, a
// key id (16 hex digits) or an email address. For an email address with a
// pinned fingerprint, only the pinned key is returned.
func (s *Store) Find(query string) ([]*envelope.Key, error) {
	all, err := s.Recipients()
	if err != nil {
		return nil, err
	}
	q := strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(query), "0x"))
	var out []*envelope.Key
	if isHex(q) && (len(q) == 40 || len(q) == 64 || len(q) == 16) {
		for _, k := range all {
			if k.Fingerprint() == q || k.KeyID() == q || strings.HasSuffix(k.Fingerprint(), q) {
				out = append(out, k)
			}
		}
		return out, nil
	}
	email := strings.ToLower(strings.TrimSpace(query))
	pinned, _ := s.Pinned(email)
	for _, k := range all {
		if k.HasEmail(email) && (pinned == "" || k.Fingerprint() == pinned) {
			out = append(out, k)
		}
	}
	return out, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789ABCDEF", r) {
			return false
		}
	}
	return true
}
