// Package keystore keeps the sender PC's keys: the sender's secret key and
// other secrets (such as the spool key) in the OS keyring when there is
// one, with a 0600 file fallback; and the address book of recipients'
// public keys with the fingerprints pinned for each address.
package keystore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/zalando/go-keyring"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// service is the keyring service name under which secrets are stored.
const service = "sealprint"

// Keyring is the OS secret store (github.com/zalando/go-keyring), an
// interface so tests and servers can replace it.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

type osKeyring struct{}

func (osKeyring) Get(s, u string) (string, error) { return keyring.Get(s, u) }
func (osKeyring) Set(s, u, v string) error        { return keyring.Set(s, u, v) }
func (osKeyring) Delete(s, u string) error        { return keyring.Delete(s, u) }

// OSKeyring returns the operating system's keyring.
func OSKeyring() Keyring { return osKeyring{} }

// NoKeyring is a Keyring that is never available: secrets go to files.
// SEALPRINT_KEYRING=file selects it (servers, CI).
type NoKeyring struct{}

var errNoKeyring = errors.New("keyring disabled (SEALPRINT_KEYRING=file)")

// Get always fails.
func (NoKeyring) Get(string, string) (string, error) { return "", errNoKeyring }

// Set always fails.
func (NoKeyring) Set(string, string, string) error { return errNoKeyring }

// Delete always fails.
func (NoKeyring) Delete(string, string) error { return errNoKeyring }

// Secrets stores named secrets in the keyring, or in 0600 files under dir
// when no keyring works. The choice is made once per secret and remembered
// (a file named NAME.where), so a secret is never looked for in two places.
type Secrets struct {
	dir     string
	ring    Keyring
	notice  io.Writer
	mu      sync.Mutex
	warned  bool
	account string
	// sealer, when set, encrypts file secrets with an OS key (see
	// ossealer.go); SetSealer or NewSecrets' OSSealer chooses it.
	sealer Sealer
}

// NewSecrets returns a secret store rooted at dir. notice receives a
// one-time message when the file fallback is used (nil: silent).
func NewSecrets(dir string, ring Keyring, notice io.Writer) *Secrets {
	s := &Secrets{dir: dir, ring: ring, notice: notice, account: accountFor(dir)}
	if sealer, err := OSSealer(); err == nil {
		s.sealer = sealer
	}
	return s
}

// SetSealer replaces the OS facility that seals file secrets (nil: plain
// 0600 files). Tests use it; so may a platform with another facility.
func (s *Secrets) SetSealer(sealer Sealer) { s.sealer = sealer }

// accountFor names the keyring entry after the home directory, so several
// sealprint homes on one machine do not overwrite each other's secrets.
func accountFor(dir string) string {
	return strings.TrimPrefix(filepath.Clean(dir), string(filepath.Separator))
}

func validName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\.`) || len(name) > 64 {
		return fmt.Errorf("invalid secret name %q", name)
	}
	return nil
}

// Where reports where a secret lives: "keyring", "file", or "" if absent.
func (s *Secrets) Where(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name+".where"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Get returns the secret called name, or an error wrapping os.ErrNotExist.
func (s *Secrets) Get(name string) ([]byte, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	switch s.Where(name) {
	case "keyring":
		v, err := s.ring.Get(service, s.account+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("read %s from the OS keyring: %w", name, err)
		}
		return []byte(v), nil
	case "file":
		b, err := os.ReadFile(filepath.Join(s.dir, name+".secret"))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return openFile(s.sealer, name, b)
	}
	return nil, fmt.Errorf("secret %s: %w", name, os.ErrNotExist)
}

// Set stores a secret, in the keyring if it works, else in a 0600 file.
// It returns where the secret went.
func (s *Secrets) Set(name string, value []byte) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", err
	}
	where := "keyring"
	err := s.ring.Set(service, s.account+"/"+name, string(value))
	if err == nil {
		// Check it reads back: some keyrings accept and lose data.
		if v, gerr := s.ring.Get(service, s.account+"/"+name); gerr != nil || v != string(value) {
			err = errors.New("keyring did not return what was stored")
		}
	}
	if err != nil {
		where = "file"
		path := filepath.Join(s.dir, name+".secret")
		content, serr := sealFile(s.sealer, name, value)
		if serr != nil {
			return "", serr
		}
		if werr := atomicfile.WriteFile(path, content, 0o600); werr != nil {
			return "", werr
		}
		s.warnOnce(err, path)
	} else {
		os.Remove(filepath.Join(s.dir, name+".secret"))
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, name+".where"), []byte(where+"\n"), 0o600); err != nil {
		return "", err
	}
	return where, nil
}

// Delete removes a secret from wherever it is.
func (s *Secrets) Delete(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	if s.Where(name) == "keyring" {
		s.ring.Delete(service, s.account+"/"+name)
	}
	os.Remove(filepath.Join(s.dir, name+".secret"))
	return os.Remove(filepath.Join(s.dir, name+".where"))
}

func (s *Secrets) warnOnce(cause error, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	marker := filepath.Join(s.dir, ".keyring-fallback-noticed")
	if s.warned || s.notice == nil {
		return
	}
	s.warned = true
	if _, err := os.Stat(marker); err == nil {
		return
	}
	fmt.Fprintf(s.notice, "note: no usable OS keyring (%s); secrets are kept in files readable only by you, such as %s\n",
		strings.Join(strings.Fields(cause.Error()), " "), path)
	atomicfile.WriteFile(marker, nil, 0o600)
}
