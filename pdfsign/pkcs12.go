package pdfsign

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"software.sslmate.com/src/go-pkcs12"
)

// maxPKCS12 bounds a PKCS#12 file.
const maxPKCS12 = 1 << 20

// OpenPKCS12 reads a PKCS#12 (.p12, .pfx) file holding a private key, its
// certificate and optionally the chain, protected by password. It uses
// software.sslmate.com/src/go-pkcs12, the maintained fork of the frozen
// golang.org/x/crypto/pkcs12 (which cannot read files with more than one
// certificate).
func OpenPKCS12(r io.Reader, password string) (*Identity, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPKCS12+1))
	if err != nil {
		return nil, fmt.Errorf("read PKCS#12: %w", err)
	}
	if len(data) > maxPKCS12 {
		return nil, fmt.Errorf("PKCS#12 file larger than %d bytes", maxPKCS12)
	}
	key, cert, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, errors.New("PKCS#12: wrong passphrase")
		}
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("PKCS#12: key of type %T cannot sign", key)
	}
	id := &Identity{Key: signer, Chain: append([]*x509.Certificate{cert}, orderChain(cert, cas)...)}
	if err := id.check(); err != nil {
		return nil, fmt.Errorf("PKCS#12: %w", err)
	}
	return id, nil
}

// orderChain returns the certificates of pool that lead up from leaf, in
// order (issuer after subject), leaving out self-signed roots' repeats.
func orderChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	var chain []*x509.Certificate
	used := map[*x509.Certificate]bool{}
	cur := leaf
	for len(chain) < len(pool) {
		var next *x509.Certificate
		for _, c := range pool {
			if !used[c] && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil || next.Equal(cur) {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain
}
