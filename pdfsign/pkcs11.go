package pdfsign

import "errors"

// PKCS11Config says which key on which PKCS#11 token signs.
type PKCS11Config struct {
	// Module is the path of the token's PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so or the CPS card's module.
	Module string
	// Slot or TokenLabel picks the token (Slot wins when set).
	Slot       *int
	TokenLabel string
	// KeyLabel picks the key pair (CKA_LABEL); empty means the only one
	// with a certificate.
	KeyLabel string
	// PIN is the user PIN. Callers ask for it and never store it.
	PIN string
}

// ErrNoPKCS11 is returned by OpenPKCS11 in builds without cgo.
var ErrNoPKCS11 = errors.New("this build of sealprint has no PKCS#11 support (built without cgo)")
