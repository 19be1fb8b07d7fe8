package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/keyserver"
)

// lookupTimeout bounds one directory lookup (relay, then two WKD hosts).
const lookupTimeout = 60 * time.Second

func init() {
	// Sending to an address missing from the address book looks it up in
	// the key directory and pins it on first use.
	lookupRecipient = func(p *pc, email string) (*envelope.Key, error) {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		k, _, err := p.lookupAndPin(ctx, email, p.acceptFirstKey(email))
		switch {
		case err == nil:
			return usable(k)
		case errors.Is(err, keyserver.ErrKeyChanged), errors.Is(err, keyserver.ErrKeyUnusable),
			errors.Is(err, keyserver.ErrNewKey), errors.Is(err, keyserver.ErrKeysDisagree):
			return nil, err
		default:
			// Not found, or the directory is unreachable: the caller says
			// the key is missing and how to look it up by hand.
			return nil, nil
		}
	}
}

// directoryClient returns the HTTP client (with this PC's proxy and CA
// settings) and relay URL to use for lookups of email.
func (p *pc) directoryClient(email string) (*http.Client, string, error) {
	if p.cfg.Relay != "" {
		c, err := p.relayClient(false)
		if err != nil {
			return nil, "", err
		}
		return c.HTTPClient(), p.cfg.Relay, nil
	}
	// No relay: WKD only, through the same network settings.
	_, domain, _ := strings.Cut(keyserver.NormalizeEmail(email), "@")
	c, err := p.clientFor("https://openpgpkey."+domain, "")
	if err != nil {
		return nil, "", err
	}
	return c.HTTPClient(), "", nil
}

// lookupAndPin finds email's key in the directory, checks it against the
// pin (pinning on first use) and stores it in the address book. On a key
// change the offered key is stored too (pins keep it from being used) so
// that 'sealprint keys pin' can accept it.
//
// accept decides for a key seen for the first time (see keyserver.Resolve);
// nil pins it (an explicit 'keys lookup', which prints it).
func (p *pc) lookupAndPin(ctx context.Context, email string, accept func(*keyserver.Resolved) bool) (*envelope.Key, *keyserver.Resolved, error) {
	if keyserver.NormalizeEmail(email) == "" {
		return nil, nil, usageError("%q is not an email address", email)
	}
	client, relay, err := p.directoryClient(email)
	if err != nil {
		return nil, nil, err
	}
	r, rerr := keyserver.Resolve(ctx, client, relay, email, p.bookPins(email), accept)
	if r == nil {
		return nil, nil, rerr
	}
	if errors.Is(rerr, keyserver.ErrNewKey) {
		// Not confirmed: not added, not pinned.
		return nil, r, rerr
	}
	keys, err := envelope.ReadKeys(strings.NewReader(string(r.Armored)))
	if err != nil || len(keys) != 1 {
		return nil, nil, fmt.Errorf("key for %s from %s: unreadable: %v", email, r.Source, err)
	}
	k, err := p.keys.AddRecipient(keys[0])
	if err != nil {
		return nil, nil, err
	}
	if _, ok := p.keys.Pinned(email); !ok && rerr == nil {
		// The directory confirmed the address-book key: pin it.
		if err := p.keys.Pin(email, k.Fingerprint()); err != nil {
			return nil, nil, err
		}
	}
	return k, r, rerr
}

// addressBookPins makes an address-book key count as the pin of its
// address when the address has no pin yet: a directory key that differs
// from the key IT distributed is refused as a change, not pinned.
type addressBookPins struct {
	keyserver.Pins
	email, fingerprint string
}

func (a addressBookPins) Pinned(email string) (string, bool) {
	if f, ok := a.Pins.Pinned(email); ok {
		return f, true
	}
	if a.fingerprint != "" && strings.EqualFold(email, a.email) {
		return a.fingerprint, true
	}
	return "", false
}

// bookPins returns the pins to check a lookup of email against.
func (p *pc) bookPins(email string) keyserver.Pins {
	pins := addressBookPins{Pins: p.keys, email: email}
	if _, ok := p.keys.Pinned(email); ok {
		return pins
	}
	if found, err := p.keys.Find(email); err == nil && len(found) == 1 {
		pins.fingerprint = found[0].Fingerprint()
	}
	return pins
}

type lookupResult struct {
	Email       string `json:"email"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Name        string `json:"name,omitempty"`
	Source      string `json:"source,omitempty"`
	Pinned      string `json:"pinned,omitempty"` // "first use", "matches", "changed"
	Status      string `json:"status"`           // ok, changed, unusable, not found, error
	Error       string `json:"error,omitempty"`
}

func runKeysLookup(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys lookup", "sealprint keys lookup EMAIL [--accept-new-key FPR] [--json]\n\nFinds EMAIL's key in the Web Key Directory of its domain, then in the relay's\nkey directory (both answering different keys is refused). A key seen for the\nfirst time is shown, and pinned and added to the address book only with\n--accept-new-key FPR once the recipient confirmed FPR. A key that differs from\nthe pinned one is refused (KEY CHANGED).", e.stderr)
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	var acceptNew listFlag
	fs.Var(&acceptNew, "accept-new-key", "fingerprint confirmed with the recipient")
	pos, err := parsePositional(fs, args, 1, 1, "sealprint keys lookup EMAIL")
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	p.acceptNew = acceptNew
	k, r, err := p.lookupAndPin(ctx, pos[0], p.acceptFirstKey(pos[0]))
	if errors.Is(err, keyserver.ErrNewKey) {
		res := lookupResult{Email: strings.ToLower(pos[0]), Fingerprint: r.Fingerprint, Source: r.Source, Status: "unconfirmed", Error: err.Error()}
		if *jsonOut {
			return json.NewEncoder(e.stdout).Encode(res)
		}
		fmt.Fprintf(e.stdout, "%s\t%s\nfound at %s; not pinned: confirm the fingerprint with the recipient, then run again with --accept-new-key %s\n",
			res.Email, groupFingerprint(res.Fingerprint), res.Source, res.Fingerprint)
		return nil
	}
	if err != nil && !errors.Is(err, keyserver.ErrKeyChanged) {
		return err
	}
	res := lookupResult{Email: strings.ToLower(pos[0]), Fingerprint: k.Fingerprint(), Name: k.Name(), Source: r.Source, Status: "ok", Pinned: "matches"}
	if r.FirstUse {
		res.Pinned = "first use"
	}
	if err != nil {
		res.Status, res.Pinned, res.Error = "changed", "changed", err.Error()
	}
	if *jsonOut {
		json.NewEncoder(e.stdout).Encode(res)
	} else if err == nil {
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", res.Email, res.Fingerprint, res.Name)
		fmt.Fprintf(e.stdout, "found at %s; pin: %s\n", res.Source, res.Pinned)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "\n*** WARNING: THE KEY OF %s HAS CHANGED ***\n\n", strings.ToUpper(res.Email))
		return err
	}
	return nil
}

func runKeysRefresh(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys refresh", "sealprint keys refresh [--json]\n\nLooks up every pinned address again: updates the address book with new\nsignatures, reports revoked or expired keys, and refuses changed keys\n(KEY CHANGED; exit status 1).", e.stderr)
	jsonOut := fs.Bool("json", false, "print the results as JSON lines")
	_, err := parsePositional(fs, args, 0, 0, "sealprint keys refresh")
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	pins, err := p.keys.Pins()
	if err != nil {
		return err
	}
	emails := make([]string, 0, len(pins))
	for em := range pins {
		emails = append(emails, em)
	}
	sort.Strings(emails)
	changed, failed := 0, 0
	for _, em := range emails {
		res := p.refreshOne(ctx, em, pins[em])
		switch res.Status {
		case "changed":
			changed++
		case "error":
			failed++
		}
		if *jsonOut {
			json.NewEncoder(e.stdout).Encode(res)
			continue
		}
		line := fmt.Sprintf("%-8s %s\t%s", res.Status, res.Email, res.Fingerprint)
		if res.Error != "" {
			line += "\t" + res.Error
		}
		fmt.Fprintln(e.stdout, line)
	}
	if changed > 0 {
		fmt.Fprintf(e.stderr, "\n*** WARNING: %d PINNED KEY(S) CHANGED; sending to those addresses is refused ***\n\n", changed)
		return fmt.Errorf("%w for %d address(es); see above", keyserver.ErrKeyChanged, changed)
	}
	if failed > 0 {
		return fmt.Errorf("%d lookup(s) failed; see above", failed)
	}
	return nil
}

// refreshOne looks up one pinned address.
func (p *pc) refreshOne(ctx context.Context, email, pinned string) lookupResult {
	res := lookupResult{Email: email, Fingerprint: pinned}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	k, r, err := p.lookupAndPin(ctx, email, nil)
	switch {
	case err == nil:
		res.Status, res.Pinned, res.Source, res.Name = "ok", "matches", r.Source, k.Name()
	case errors.Is(err, keyserver.ErrKeyChanged):
		res.Status, res.Pinned, res.Error = "changed", "changed", err.Error()
	case errors.Is(err, keyserver.ErrKeyUnusable):
		res.Status, res.Error = "unusable", err.Error()
		p.fetchRevocation(ctx, email, pinned)
	case errors.Is(err, keyserver.ErrNoKey):
		res.Status = "not found"
	default:
		res.Status, res.Error = "error", err.Error()
	}
	return res
}

// fetchRevocation updates the address-book copy of a pinned key from the
// relay by fingerprint, so that a revocation published there is known
// locally and sending to the key is refused.
func (p *pc) fetchRevocation(ctx context.Context, email, fpr string) {
	client, relay, err := p.directoryClient(email)
	if err != nil || relay == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(relay, "/")+"/vks/v1/by-fingerprint/"+fpr, nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	certs, err := keyserver.ParseCerts(resp.Body)
	if err != nil || len(certs) != 1 || certs[0].Fingerprint() != strings.ToUpper(fpr) {
		return
	}
	var b strings.Builder
	if certs[0].Armor(&b, nil) != nil {
		return
	}
	if keys, err := envelope.ReadKeys(strings.NewReader(b.String())); err == nil && len(keys) == 1 {
		p.keys.AddRecipient(keys[0])
	}
}

// checkDirectory looks a pinned address up again before a send and
// returns the KEY CHANGED error when the directory now offers another key
// for it. Absence from the directory, unusable keys and network failures
// are not errors here: the pinned address-book key stays the one used (and
// is itself checked for expiry and revocation by the caller). Intended for
// resolveRecipient, after the pin check of an address-book hit.
func (p *pc) checkDirectory(email string) error {
	if p.cfg.Relay == "" {
		return nil
	}
	if _, ok := p.keys.Pinned(email); !ok {
		return nil
	}
	// A quick check: an unreachable directory must not hold up a send.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := p.lookupAndPin(ctx, email, nil)
	if errors.Is(err, keyserver.ErrKeyChanged) || errors.Is(err, keyserver.ErrKeysDisagree) {
		return err
	}
	return nil
}

// confirmNewKey pins fingerprint as email's key, a key seen for the first
// time, exactly as 'sealprint keys lookup EMAIL --accept-new-key FPR'
// does: the key is looked up again and pinned only if it has that
// fingerprint. The jobs page calls it for a held printed job.
func (p *pc) confirmNewKey(ctx context.Context, email, fingerprint string) error {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	want := strings.ToUpper(strings.ReplaceAll(fingerprint, " ", ""))
	_, _, err := p.lookupAndPin(ctx, email, func(r *keyserver.Resolved) bool {
		return strings.EqualFold(r.Fingerprint, want)
	})
	return err
}
