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

// PINError is a login the token refused: a wrong PIN, or a locked card.
// Callers must not try the same PIN again by themselves: each wrong try
// brings the card closer to locking.
type PINError struct {
	// Err is the token's error (CKR_PIN_INCORRECT, CKR_PIN_LOCKED, …).
	Err error
	// CountLow, FinalTry and Locked are the token's PIN flags after the
	// refusal, when the module reports them (many, SoftHSM among them,
	// report none): a wrong PIN was entered, the next wrong one locks
	// the card, the card is locked.
	CountLow, FinalTry, Locked bool
}

func (e *PINError) Error() string {
	msg := "the token refused the PIN: " + e.Err.Error()
	switch {
	case e.Locked:
		msg += " (the PIN is locked: unblock the card with its PUK)"
	case e.FinalTry:
		msg += " (one try left before the card locks)"
	case e.CountLow:
		msg += " (few tries left before the card locks)"
	}
	return msg
}

func (e *PINError) Unwrap() error { return e.Err }
