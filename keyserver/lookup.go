package keyserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// ErrNoKey is returned by Lookup when neither the relay nor the address's
// WKD has a key for it.
var ErrNoKey = errors.New("no key found")

// ErrKeyUnusable is wrapped by errors about a found key that must not be
// used: revoked, expired, without a valid encryption key or not carrying
// the address asked for.
var ErrKeyUnusable = errors.New("key unusable")

// ErrKeysDisagree is returned when the address's own domain (WKD) and the
// relay's directory both answer with different keys: one of them lies,
// and nothing is sent until a person finds out which.
var ErrKeysDisagree = errors.New("key sources disagree")

// Lookup finds the key published for email: first the Web Key Directory
// of the address's own domain (advanced method, then direct), then the
// relay's VKS (by-email), so that a relay cannot substitute its own key
// for an address whose domain publishes one. When both answer with
// different keys it fails with ErrKeysDisagree naming both. It returns the
// armored key, reduced to that one key, and where it came from (a URL;
// "relay" in the source means only the relay answered). Keys that are
// revoked, expired or do not carry the address are refused with
// ErrKeyUnusable; a missing key is ErrNoKey. client carries the PC's proxy
// and TLS settings.
func Lookup(ctx context.Context, client *http.Client, relayURL, email string) ([]byte, string, error) {
	armored, source, _, err := lookupWithWKD(ctx, client, relayURL, email)
	return armored, source, err
}

// lookupWithWKD is Lookup that also says why the domain's WKD gave no key
// when the relay's answer is used: nil (it answered), ErrNoKey (it has
// none), or the error that kept it from answering (unreachable, TLS,
// server error) — then its key could not be compared with the relay's.
func lookupWithWKD(ctx context.Context, client *http.Client, relayURL, email string) ([]byte, string, error, error) {
	wkd, wsrc, werr := lookupURLs(ctx, client, "", email)
	if relayURL == "" {
		return wkd, wsrc, werr, werr
	}
	if werr != nil && !errors.Is(werr, ErrNoKey) && errors.Is(werr, ErrKeyUnusable) {
		return nil, wsrc, werr, werr
	}
	dir, dsrc, derr := lookupURLs(ctx, client, relayURL, email)
	switch {
	case werr == nil && derr == nil:
		wf, dfp := fingerprintOf(wkd), fingerprintOf(dir)
		if wf != dfp {
			return nil, wsrc, nil, fmt.Errorf("%w for %s: its domain publishes %s (%s), the relay's directory %s (%s); "+
				"nothing is sent: ask the recipient (by phone) which key is theirs",
				ErrKeysDisagree, NormalizeEmail(email), wf, wsrc, dfp, dsrc)
		}
		return wkd, wsrc, nil, nil
	case werr == nil:
		return wkd, wsrc, nil, nil
	}
	return dir, dsrc, werr, derr
}

func fingerprintOf(armored []byte) string {
	c, err := ParseCert(strings.NewReader(string(armored)))
	if err != nil {
		return "(unreadable)"
	}
	return c.Fingerprint()
}

// lookupURLs asks the relay's VKS when relayURL is set, else the address's
// WKD (advanced, then direct).
func lookupURLs(ctx context.Context, client *http.Client, relayURL, email string) ([]byte, string, error) {
	addr := NormalizeEmail(email)
	if addr == "" {
		return nil, "", fmt.Errorf("lookup: %q is not an email address", email)
	}
	if client == nil {
		client = http.DefaultClient
	}
	local, domain := splitEmail(addr)
	hash := WKDHash(local)
	var urls []string
	if relayURL != "" {
		urls = append(urls, strings.TrimRight(relayURL, "/")+"/vks/v1/by-email/"+url.PathEscape(addr))
	} else {
		q := "?l=" + url.QueryEscape(local)
		urls = append(urls,
			"https://openpgpkey."+domain+"/.well-known/openpgpkey/"+domain+"/hu/"+hash+q,
			"https://"+domain+"/.well-known/openpgpkey/hu/"+hash+q)
	}
	var errs []error
	for _, u := range urls {
		data, err := fetchKey(ctx, client, u)
		if errors.Is(err, ErrNoKey) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		armored, err := SelectKey(data, addr, time.Now())
		if err != nil {
			// A key that exists but must not be used is an answer, not a
			// reason to look elsewhere.
			return nil, u, fmt.Errorf("key for %s from %s: %w", addr, u, err)
		}
		return armored, u, nil
	}
	if len(errs) > 0 && len(errs) == len(urls) {
		return nil, "", fmt.Errorf("lookup %s: %w", addr, errors.Join(errs...))
	}
	return nil, "", fmt.Errorf("lookup %s: %w", addr, ErrNoKey)
}

// fetchKey GETs a key document of at most MaxKeyBytes; 404 and 410 are
// ErrNoKey.
func fetchKey(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/pgp-keys, application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		return nil, ErrNoKey
	default:
		return nil, fmt.Errorf("fetch %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if len(data) > MaxKeyBytes {
		return nil, fmt.Errorf("fetch %s: %w", u, tooLarge("larger than %d bytes", MaxKeyBytes))
	}
	return data, nil
}

// SelectKey picks from data (armored or binary keys) the one key carrying
// email that can be used at now, and returns it armored with only that
// address's user IDs. Revoked and expired keys, revoked addresses and keys
// without a valid encryption subkey are refused with ErrKeyUnusable.
func SelectKey(data []byte, email string, now time.Time) ([]byte, error) {
	addr := NormalizeEmail(email)
	certs, err := ParseCerts(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var reasons []string
	for _, c := range certs {
		var carries bool
		for _, e := range c.Emails() {
			carries = carries || e == addr
		}
		if !carries {
			continue
		}
		only := func(e string) bool { return e == addr }
		var out bytes.Buffer
		if err := c.Armor(&out, only); err != nil {
			return nil, err
		}
		if reason := unusable(c, addr, out.Bytes(), now); reason != "" {
			reasons = append(reasons, c.Fingerprint()+": "+reason)
			continue
		}
		return out.Bytes(), nil
	}
	if len(reasons) == 0 {
		return nil, fmt.Errorf("%w: no key carries %s", ErrKeyUnusable, addr)
	}
	return nil, fmt.Errorf("%w: %s", ErrKeyUnusable, strings.Join(reasons, "; "))
}

// unusable explains why a key must not be used for encryption, or returns
// "".
func unusable(c *Cert, addr string, armored []byte, now time.Time) string {
	switch {
	case c.Revoked():
		return "the key is revoked"
	case c.EmailRevoked(addr):
		return "the address's user ID is revoked"
	case c.Expired(now):
		return "the key has expired"
	}
	ents, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil || len(ents) != 1 {
		return "the key cannot be read"
	}
	if _, ok := ents[0].EncryptionKey(now); !ok {
		return "the key has no valid encryption key (expired or revoked)"
	}
	return ""
}
