//go:build !windows && !linux

package keystore

// OSSealer returns errNoSealer: file secrets stay plain 0600 files here
// (macOS always has its Keychain).
func OSSealer() (Sealer, error) { return nil, errNoSealer }
