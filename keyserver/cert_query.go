package keyserver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (c *Cert) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(c.pub.Fingerprint))
}

// KeyIDs returns the 16-hex-digit key IDs of the primary key and subkeys.
func (c *Cert) KeyIDs() []string {
	ids := []string{keyIDHex(c.pub)}
	for _, s := range c.subkeys {
		ids = append(ids, keyIDHex(s.pub))
	}
	return ids
}

// Fingerprints returns the fingerprints of the primary key and subkeys.
func (c *Cert) Fingerprints() []string {
	fps := []string{c.Fingerprint()}
	for _, s := range c.subkeys {
		fps = append(fps, strings.ToUpper(hex.EncodeToString(s.pub.Fingerprint)))
	}
	return fps
}

func keyIDHex(pk *packet.PublicKey) string {
	return fmt.Sprintf("%016X", pk.KeyId)
}

// Emails returns the distinct normalized addresses of the key's user IDs,
// sorted.
func (c *Cert) Emails() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range c.userIDs {
		if u.email != "" && !seen[u.email] {
			seen[u.email] = true
			out = append(out, u.email)
		}
	}
	sort.Strings(out)
	return out
}

// EmailRevoked reports whether every user ID carrying email is revoked.
func (c *Cert) EmailRevoked(email string) bool {
	found := false
	for _, u := range c.userIDs {
		if u.email == email {
			if !u.revoked() {
				return false
			}
			found = true
		}
	}
	return found
}

// Revoked reports whether the primary key carries a valid revocation.
func (c *Cert) Revoked() bool {
	for _, s := range c.keySigs {
		if s.sig.SigType == packet.SigTypeKeyRevocation {
			return true
		}
	}
	return false
}

// Expired reports whether the key had expired at now, according to its
// newest self-signatures.
func (c *Cert) Expired(now time.Time) bool {
	var newest *packet.Signature
	for _, s := range c.keySigs {
		if s.sig.SigType == packet.SigTypeDirectSignature && (newest == nil || s.sig.CreationTime.After(newest.CreationTime)) {
			newest = s.sig
		}
	}
	for _, u := range c.userIDs {
		if cs := u.certification(); cs != nil && (newest == nil || cs.CreationTime.After(newest.CreationTime)) {
			newest = cs
		}
	}
	if newest == nil {
		return false
	}
	return c.pub.KeyExpired(newest, now)
}

// Merge adds to c what other (the same key) carries and c lacks: new
// signatures (such as a revocation), user IDs and subkeys. Signatures are
// never removed, so re-uploading an old copy cannot undo a revocation.
func (c *Cert) Merge(other *Cert) error {
	if other.Fingerprint() != c.Fingerprint() {
		return fmt.Errorf("merge %s with %s: different keys", c.Fingerprint(), other.Fingerprint())
	}
	for _, s := range other.keySigs {
		c.keySigs = appendSig(c.keySigs, s)
	}
	c.userIDs = append(c.userIDs, other.userIDs...)
	c.subkeys = append(c.subkeys, other.subkeys...)
	c.prune()
	if len(c.userIDs) > MaxUserIDs || len(c.subkeys) > MaxSubkeys {
		return tooLarge("too many user IDs or subkeys once merged")
	}
	return nil
}

// Serialize writes c in binary form. Only user IDs for which publish
// returns true are included (user IDs without an address never are); a nil
// publish keeps every user ID.
func (c *Cert) Serialize(w io.Writer, publish func(email string) bool) error {
	pkts := []rawPacket{c.primary}
	for _, s := range c.keySigs {
		pkts = append(pkts, s.raw)
	}
	for _, u := range c.userIDs {
		if publish != nil && (u.email == "" || !publish(u.email)) {
			continue
		}
		pkts = append(pkts, u.raw)
		for _, s := range u.sigs {
			pkts = append(pkts, s.raw)
		}
	}
	for _, s := range c.subkeys {
		pkts = append(pkts, s.raw)
		for _, sg := range s.sigs {
			pkts = append(pkts, sg.raw)
		}
	}
	for _, p := range pkts {
		if err := writePacket(w, p); err != nil {
			return err
		}
	}
	return nil
}

// Bytes returns c in binary form with every user ID.
func (c *Cert) Bytes() []byte {
	var b bytes.Buffer
	_ = c.Serialize(&b, nil)
	return b.Bytes()
}

// Armor writes c as an ASCII-armored public key block, filtered like
// Serialize.
func (c *Cert) Armor(w io.Writer, publish func(email string) bool) error {
	aw, err := armor.Encode(w, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		return err
	}
	if err := c.Serialize(aw, publish); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

func isTooLarge(err error) bool { return errors.Is(err, ErrKeyTooLarge) }
