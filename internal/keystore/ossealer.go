package keystore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Without a usable OS keyring, secrets go to 0600 files. Where the OS
// offers a key of its own — DPAPI on Windows (bound to the user's logon),
// systemd-creds on Linux (the host key, or the TPM) — the file holds the
// secret encrypted with it, so a copy of the files (a backup, a synced
// profile, another account that can read them) does not hold the secret
// itself. Elsewhere the file is the plain secret, mode 0600, outside the
// spool directory (docs/security.md).

// Sealer encrypts small secrets with a key the operating system keeps.
type Sealer interface {
	// Name says which OS facility it is ("dpapi", "systemd-creds").
	Name() string
	// Seal encrypts a secret called name.
	Seal(name string, plain []byte) ([]byte, error)
	// Open decrypts what Seal returned for the same name.
	Open(name string, sealed []byte) ([]byte, error)
}

// sealedPrefix marks a file secret sealed by an OS facility:
// "sealprint-sealed:<facility>:" then base64 of the sealed bytes.
const sealedPrefix = "sealprint-sealed:"

// sealFile returns the contents of a file secret: sealed when sealer is
// set.
func sealFile(sealer Sealer, name string, value []byte) ([]byte, error) {
	if sealer == nil {
		return value, nil
	}
	sealed, err := sealer.Seal(name, value)
	if err != nil {
		return nil, fmt.Errorf("seal %s with %s: %w", name, sealer.Name(), err)
	}
	return []byte(sealedPrefix + sealer.Name() + ":" + base64.StdEncoding.EncodeToString(sealed) + "\n"), nil
}

// openFile returns the secret in a file's contents, unsealing it if it
// was sealed. A plain file (written before sealing existed, or where the
// OS has no facility) is returned as is.
func openFile(sealer Sealer, name string, b []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte(sealedPrefix))
	if !ok {
		return b, nil
	}
	facility, enc, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return nil, fmt.Errorf("secret %s: malformed sealed file", name)
	}
	if sealer == nil || sealer.Name() != string(facility) {
		return nil, fmt.Errorf("secret %s was sealed with %s, which is not available here", name, facility)
	}
	sealed, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(enc)))
	if err != nil {
		return nil, fmt.Errorf("secret %s: malformed sealed file", name)
	}
	plain, err := sealer.Open(name, sealed)
	if err != nil {
		return nil, fmt.Errorf("unseal %s with %s: %w", name, facility, err)
	}
	return plain, nil
}

// errNoSealer is returned by osSealer where the OS offers nothing.
var errNoSealer = errors.New("no OS secret-sealing facility")
