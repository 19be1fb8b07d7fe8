package spooler

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// SecretStore keeps small secrets by name: the OS keyring, or a file
// fallback (internal/keystore's Secrets). Get returns an error wrapping
// fs.ErrNotExist for a missing name; Set returns where the secret went.
type SecretStore interface {
	Get(name string) ([]byte, error)
	Set(name string, value []byte) (string, error)
}

// SpoolKeyName is the name of the spool key in the SecretStore.
const SpoolKeyName = "spool-key"

// LoadSpoolKey returns the spool key from store, generating and saving a
// random one on first use. Nothing is asked of the user.
func LoadSpoolKey(store SecretStore) ([]byte, error) {
	v, err := store.Get(SpoolKeyName)
	if err == nil {
		k, derr := base64.RawStdEncoding.DecodeString(strings.TrimSpace(string(v)))
		if derr != nil || len(k) != keySize {
			return nil, errors.New("spool key in the secret store is malformed")
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read spool key: %w", err)
	}
	k := make([]byte, keySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("generate spool key: %w", err)
	}
	if _, err := store.Set(SpoolKeyName, []byte(base64.RawStdEncoding.EncodeToString(k))); err != nil {
		return nil, fmt.Errorf("save spool key: %w", err)
	}
	return k, nil
}

// FileSecrets is a SecretStore of 0600 files in a 0700 directory, for
// machines without a keyring service.
type FileSecrets struct {
	Dir string
}

func (f FileSecrets) path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("bad secret name %q", name)
	}
	return filepath.Join(f.Dir, name), nil
}

// Get reads the secret name.
func (f FileSecrets) Get(name string) ([]byte, error) {
	p, err := f.path(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Set writes the secret name atomically with mode 0600.
func (f FileSecrets) Set(name string, value []byte) (string, error) {
	p, err := f.path(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return "", err
	}
	return "file", atomicfile.WriteFile(p, value, 0o600)
}
