//go:build !cgo

package pdfsign

import "io"

// OpenPKCS11 needs cgo (the PKCS#11 module is a C library); this build
// has none, so it always fails with ErrNoPKCS11.
func OpenPKCS11(cfg PKCS11Config) (*Identity, io.Closer, error) {
	return nil, nil, ErrNoPKCS11
}
