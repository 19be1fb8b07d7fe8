package keyserver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Cert is a public OpenPGP key as the directory keeps it: the primary key,
// its self-signatures, user IDs and subkeys that carry a valid
// self-signature, and nothing else (third-party certifications, user
// attributes and unverifiable signatures are dropped).
type Cert struct {
	primary rawPacket
	pub     *packet.PublicKey
	keySigs []sigPacket
	userIDs []*userID
	subkeys []*subkey
}

type sigPacket struct {
	raw rawPacket
	sig *packet.Signature
}

type userID struct {
	raw   rawPacket
	id    string
	email string // normalized address, "" when the user ID holds none
	sigs  []sigPacket
}

type subkey struct {
	raw  rawPacket
	pub  *packet.PublicKey
	sigs []sigPacket
}

// ParseCerts reads one or more public keys, armored or binary, of at most
// MaxKeyBytes. Components without a valid self-signature are dropped; a key
// left without a usable primary key is an error.
func ParseCerts(r io.Reader) ([]*Cert, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxKeyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if len(data) > MaxKeyBytes {
		return nil, tooLarge("larger than %d bytes", MaxKeyBytes)
	}
	var body io.Reader = bytes.NewReader(data)
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(trimmed))
		if err != nil {
			return nil, fmt.Errorf("%w: bad armor: %v", ErrKeyRejected, err)
		}
		if block.Type == "PGP PRIVATE KEY BLOCK" {
			return nil, errSecretKey
		}
		if block.Type != "PGP PUBLIC KEY BLOCK" {
			return nil, fmt.Errorf("%w: armor type %q is not a public key", ErrKeyRejected, block.Type)
		}
		body = block.Body
	}
	pkts, err := readRawPackets(body, maxPackets)
	if err != nil {
		if errors.Is(err, ErrKeyRejected) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrKeyRejected, err)
	}
	return certsFromPackets(pkts, true)
}

// parseStored reads a key the directory wrote itself: its signatures were
// verified on the way in, so they are not verified again.
func parseStored(data []byte) (*Cert, error) {
	pkts, err := readRawPackets(bytes.NewReader(data), maxPackets)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyRejected, err)
	}
	certs, err := certsFromPackets(pkts, false)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%w: stored record holds %d keys", ErrKeyRejected, len(certs))
	}
	return certs[0], nil
}

// ParseCert reads exactly one public key.
func ParseCert(r io.Reader) (*Cert, error) {
	certs, err := ParseCerts(r)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%w: expected one key, found %d", ErrKeyRejected, len(certs))
	}
	return certs[0], nil
}

func certsFromPackets(pkts []rawPacket, verify bool) ([]*Cert, error) {
	var certs []*Cert
	var c *Cert
	var uid *userID
	var sk *subkey
	var skipping bool // inside a user attribute or an unusable component
	uids, subs := 0, 0
	for _, p := range pkts {
		switch p.tag {
		case tagSecretKey, tagSecretSubkey:
			return nil, errSecretKey
		case tagPublicKey:
			pub, err := parsePublicKey(p)
			if err != nil {
				return nil, err
			}
			c = &Cert{primary: p, pub: pub}
			certs = append(certs, c)
			uid, sk, skipping, uids, subs = nil, nil, false, 0, 0
		case tagUserID:
			if c == nil {
				return nil, fmt.Errorf("%w: user ID before any primary key", ErrKeyRejected)
			}
			if uids++; uids > MaxUserIDs {
				return nil, tooLarge("more than %d user IDs", MaxUserIDs)
			}
			uid = &userID{raw: p, id: string(p.body), email: emailOfUserID(string(p.body))}
			c.userIDs = append(c.userIDs, uid)
			sk, skipping = nil, false
		case tagPublicSubkey:
			if c == nil {
				return nil, fmt.Errorf("%w: subkey before any primary key", ErrKeyRejected)
			}
			if subs++; subs > MaxSubkeys {
				return nil, tooLarge("more than %d subkeys", MaxSubkeys)
			}
			pub, err := parsePublicKey(p)
			if err != nil || !pub.IsSubkey {
				uid, sk, skipping = nil, nil, true // unknown algorithm: drop it
				continue
			}
			sk = &subkey{raw: p, pub: pub}
			c.subkeys = append(c.subkeys, sk)
			uid, skipping = nil, false
		case tagUserAttribute:
			uid, sk, skipping = nil, nil, true
		case tagSignature:
			if c == nil {
				return nil, fmt.Errorf("%w: signature before any primary key", ErrKeyRejected)
			}
			if skipping {
				continue
			}
			c.addSig(p, uid, sk, verify)
		default:
			// Marker, trust, padding and unknown packets carry nothing to keep.
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no public key found", ErrKeyRejected)
	}
	for _, c := range certs {
		c.prune()
	}
	return certs, nil
}

func parsePublicKey(p rawPacket) (*packet.PublicKey, error) {
	pk, err := packet.Read(bytes.NewReader(p.bytes()))
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable public key: %v", ErrKeyRejected, err)
	}
	pub, ok := pk.(*packet.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: unreadable public key", ErrKeyRejected)
	}
	if err := checkKeySize(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// addSig verifies a signature that follows the primary key, a user ID or a
// subkey and keeps it only when it is a valid self-signature of that
// component.
func (c *Cert) addSig(p rawPacket, uid *userID, sk *subkey, verify bool) {
	pk, err := packet.Read(bytes.NewReader(p.bytes()))
	if err != nil {
		return
	}
	sig, ok := pk.(*packet.Signature)
	if !ok || !sig.CheckKeyIdOrFingerprint(c.pub) {
		return // third-party or issuer-less: not ours to keep
	}
	sp := sigPacket{raw: p, sig: sig}
	check := func(f func() error) bool { return !verify || f() == nil }
	switch {
	case uid != nil:
		switch sig.SigType {
		case packet.SigTypeGenericCert, packet.SigTypePersonaCert, packet.SigTypeCasualCert,
			packet.SigTypePositiveCert, packet.SigTypeCertificationRevocation:
			if check(func() error { return c.pub.VerifyUserIdSignature(uid.id, c.pub, sig) }) {
				uid.sigs = appendSig(uid.sigs, sp)
			}
		}
	case sk != nil:
		switch sig.SigType {
		case packet.SigTypeSubkeyBinding:
			if check(func() error { return c.pub.VerifyKeySignature(sk.pub, sig) }) {
				sk.sigs = appendSig(sk.sigs, sp)
			}
		case packet.SigTypeSubkeyRevocation:
			if check(func() error { return c.pub.VerifySubkeyRevocationSignature(sig, sk.pub) }) {
				sk.sigs = appendSig(sk.sigs, sp)
			}
		}
	default:
		switch sig.SigType {
		case packet.SigTypeKeyRevocation:
			if check(func() error { return c.pub.VerifyRevocationSignature(sig) }) {
				c.keySigs = appendSig(c.keySigs, sp)
			}
		case packet.SigTypeDirectSignature:
			if check(func() error { return c.pub.VerifyDirectKeySignature(sig) }) {
				c.keySigs = appendSig(c.keySigs, sp)
			}
		}
	}
}

// appendSig adds sp unless an identical signature is present, keeping at
// most maxSigsPerComponent (the newest).
func appendSig(sigs []sigPacket, sp sigPacket) []sigPacket {
	for _, s := range sigs {
		if bytes.Equal(s.raw.body, sp.raw.body) {
			return sigs
		}
	}
	sigs = append(sigs, sp)
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].sig.CreationTime.Before(sigs[j].sig.CreationTime) })
	if len(sigs) > maxSigsPerComponent {
		sigs = sigs[len(sigs)-maxSigsPerComponent:]
	}
	return sigs
}

// prune drops user IDs without a certification and subkeys without a
// binding, and merges duplicates.
func (c *Cert) prune() {
	var uids []*userID
	seen := map[string]*userID{}
	for _, u := range c.userIDs {
		if prev := seen[u.id]; prev != nil {
			for _, s := range u.sigs {
				prev.sigs = appendSig(prev.sigs, s)
			}
			continue
		}
		seen[u.id] = u
		uids = append(uids, u)
	}
	c.userIDs = c.userIDs[:0]
	for _, u := range uids {
		if u.certification() != nil {
			c.userIDs = append(c.userIDs, u)
		}
	}
	var subs []*subkey
	seenSK := map[string]*subkey{}
	for _, s := range c.subkeys {
		fp := hex.EncodeToString(s.pub.Fingerprint)
		if prev := seenSK[fp]; prev != nil {
			for _, sg := range s.sigs {
				prev.sigs = appendSig(prev.sigs, sg)
			}
			continue
		}
		seenSK[fp] = s
		subs = append(subs, s)
	}
	c.subkeys = c.subkeys[:0]
	for _, s := range subs {
		for _, sg := range s.sigs {
			if sg.sig.SigType == packet.SigTypeSubkeyBinding {
				c.subkeys = append(c.subkeys, s)
				break
			}
		}
	}
	sort.SliceStable(c.userIDs, func(i, j int) bool { return c.userIDs[i].id < c.userIDs[j].id })
}

// certification returns the newest certification self-signature of u.
func (u *userID) certification() *packet.Signature {
	var best *packet.Signature
	for _, s := range u.sigs {
		if s.sig.SigType != packet.SigTypeCertificationRevocation &&
			(best == nil || !s.sig.CreationTime.Before(best.CreationTime)) {
			best = s.sig
		}
	}
	return best
}

// revoked reports whether u's newest self-signature is a revocation.
func (u *userID) revoked() bool {
	cert := u.certification()
	for _, s := range u.sigs {
		if s.sig.SigType == packet.SigTypeCertificationRevocation &&
			(cert == nil || !s.sig.CreationTime.Before(cert.CreationTime)) {
			return true
		}
	}
	return false
}
