//go:build cgo

package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/ThalesGroup/crypto11"
)

// OpenPKCS11 logs in to a PKCS#11 token (a smart card, an HSM) with
// github.com/ThalesGroup/crypto11 and returns the identity of the key pair
// cfg names, with the certificates stored on the token as its chain. The
// closer ends the session; close it when done signing.
func OpenPKCS11(cfg PKCS11Config) (*Identity, io.Closer, error) {
	if cfg.Module == "" {
		return nil, nil, errors.New("PKCS#11: no module")
	}
	if cfg.Slot == nil && cfg.TokenLabel == "" {
		return nil, nil, errors.New("PKCS#11: give a slot or a token label")
	}
	c11 := &crypto11.Config{Path: cfg.Module, Pin: cfg.PIN}
	if cfg.Slot != nil {
		c11.SlotNumber = cfg.Slot
	} else {
		c11.TokenLabel = cfg.TokenLabel
	}
	ctx, err := crypto11.Configure(c11)
	if err != nil {
		return nil, nil, fmt.Errorf("PKCS#11 %s: %w", cfg.Module, err)
	}
	id, err := pkcs11Identity(ctx, cfg.KeyLabel)
	if err != nil {
		ctx.Close()
		return nil, nil, fmt.Errorf("PKCS#11 %s: %w", cfg.Module, err)
	}
	return id, ctx, nil
}

func pkcs11Identity(ctx *crypto11.Context, keyLabel string) (*Identity, error) {
	pairs, err := ctx.FindAllPairedCertificates()
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	var picked *Identity
	for _, p := range pairs {
		if len(p.Certificate) == 0 {
			continue
		}
		cert, err := x509.ParseCertificate(p.Certificate[0])
		if err != nil {
			continue
		}
		signer, ok := p.PrivateKey.(crypto11.Signer)
		if !ok {
			continue
		}
		if keyLabel != "" {
			k, err := ctx.FindKeyPair(nil, []byte(keyLabel))
			if err != nil || k == nil {
				return nil, fmt.Errorf("no key pair labelled %q", keyLabel)
			}
			if !publicEqual(k.Public(), cert.PublicKey) {
				continue
			}
			signer = k
		}
		if picked != nil {
			return nil, errors.New("several keys with certificates: give --key-label")
		}
		picked = &Identity{Key: signer, Chain: []*x509.Certificate{cert}}
	}
	if picked == nil {
		if keyLabel != "" {
			return nil, fmt.Errorf("no certificate for the key labelled %q", keyLabel)
		}
		return nil, errors.New("no key with a certificate on the token")
	}
	// The other certificates on the token may be the chain.
	var pool []*x509.Certificate
	for _, p := range pairs {
		for _, raw := range p.Certificate {
			if c, err := x509.ParseCertificate(raw); err == nil && !bytes.Equal(c.Raw, picked.Chain[0].Raw) {
				pool = append(pool, c)
			}
		}
	}
	picked.Chain = append(picked.Chain, orderChain(picked.Chain[0], pool)...)
	if err := picked.check(); err != nil {
		return nil, err
	}
	return picked, nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
