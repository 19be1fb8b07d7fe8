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
	"github.com/miekg/pkcs11"
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
		var p11 pkcs11.Error
		if errors.As(err, &p11) && pinRefusal(p11) {
			pe := &PINError{Err: p11}
			pinFlags(cfg, pe)
			return nil, nil, fmt.Errorf("PKCS#11 %s: %w", cfg.Module, pe)
		}
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

// pinRefusal reports whether a login error is about the PIN.
func pinRefusal(e pkcs11.Error) bool {
	switch e {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE,
		pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED:
		return true
	}
	return false
}

// pinFlags reads the token's PIN flags after a refused login, without
// logging in (so without using up a try). Failing to read them leaves
// them unset.
func pinFlags(cfg PKCS11Config, pe *PINError) {
	p := pkcs11.New(cfg.Module)
	if p == nil {
		return
	}
	defer p.Destroy()
	switch err := p.Initialize(); {
	case err == nil:
		defer p.Finalize()
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)):
		// Another session of this process has it: leave it initialised.
	default:
		return
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		return
	}
	for _, slot := range slots {
		info, err := p.GetTokenInfo(slot)
		if err != nil {
			continue
		}
		if (cfg.Slot != nil && uint(*cfg.Slot) == slot) || (cfg.Slot == nil && info.Label == cfg.TokenLabel) {
			pe.CountLow = info.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0
			pe.FinalTry = info.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0
			pe.Locked = info.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0 || pe.Err == pkcs11.Error(pkcs11.CKR_PIN_LOCKED)
			return
		}
	}
}
