package pdfsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// Identity is who signs: a private key that may live outside the process
// (a smart card, an HSM) and its certificate chain, signer first.
type Identity struct {
	// Key signs SHA-256 digests (RSA PKCS#1 v1.5 or ECDSA).
	Key crypto.Signer
	// Chain is the signer's certificate followed by the intermediates
	// that lead to a root (the root itself may be left out).
	Chain []*x509.Certificate
}

// Certificate returns the signer's certificate.
func (id *Identity) Certificate() *x509.Certificate {
	if id == nil || len(id.Chain) == 0 {
		return nil
	}
	return id.Chain[0]
}

// Name returns the signer's name as the certificate states it: the common
// name, else the whole subject.
func (id *Identity) Name() string {
	c := id.Certificate()
	if c == nil {
		return ""
	}
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

// AddChain appends to the chain the certificates of certs that lead up
// from the signer's certificate (issuer after subject), for a key whose
// store holds only its own certificate.
func (id *Identity) AddChain(certs []*x509.Certificate) {
	if len(id.Chain) == 0 {
		return
	}
	var pool []*x509.Certificate
	for _, c := range certs {
		dup := false
		for _, have := range id.Chain {
			dup = dup || have.Equal(c)
		}
		if !dup {
			pool = append(pool, c)
		}
	}
	id.Chain = append(id.Chain, orderChain(id.Chain[len(id.Chain)-1], pool)...)
}

// check reports an identity Sign cannot use.
func (id *Identity) check() error {
	if id == nil || id.Key == nil {
		return errors.New("no signing key")
	}
	c := id.Certificate()
	if c == nil {
		return errors.New("no signer certificate")
	}
	switch pub := id.Key.Public().(type) {
	case *rsa.PublicKey:
		if cp, ok := c.PublicKey.(*rsa.PublicKey); !ok || !cp.Equal(pub) {
			return errors.New("the certificate does not match the key")
		}
	case *ecdsa.PublicKey:
		if cp, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || !cp.Equal(pub) {
			return errors.New("the certificate does not match the key")
		}
	default:
		return fmt.Errorf("unsupported key type %T (RSA or ECDSA only)", pub)
	}
	return nil
}
