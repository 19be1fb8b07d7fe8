package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/keystore"
	"github.com/sealprint/sealprint/keyserver"
)

// pc bundles what the sender-side commands need: the home directory, the
// configuration and the key store.
type pc struct {
	home   string
	cfg    *config.Config
	keys   *keystore.Store
	getenv func(string) string

	// acceptNew lists fingerprints the user confirmed for addresses seen
	// for the first time (--accept-new-key); confirm, when set, asks the
	// user at a terminal. Without either, a first key is never pinned.
	acceptNew []string
	confirm   func(email, fingerprint, source string) bool
}

// acceptFirstKey decides whether a key seen for the first time for email
// may be pinned.
func (p *pc) acceptFirstKey(email string) func(*keyserver.Resolved) bool {
	return func(r *keyserver.Resolved) bool {
		for _, f := range p.acceptNew {
			if strings.EqualFold(strings.ReplaceAll(f, " ", ""), r.Fingerprint) {
				return true
			}
		}
		return p.confirm != nil && p.confirm(email, r.Fingerprint, r.Source)
	}
}

// openPC loads the sealprint home named by SEALPRINT_HOME (or the default).
func openPC(e *env) (*pc, error) {
	home, err := config.Home(e.getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		return nil, err
	}
	ks, err := keystore.Open(home, keystoreOptions(e.getenv, e.stderr))
	if err != nil {
		return nil, err
	}
	return &pc{home: home, cfg: cfg, keys: ks, getenv: e.getenv}, nil
}

// passphrase returns the sender key's passphrase from SEALPRINT_PASSPHRASE.
func (p *pc) passphrase() []byte {
	if v := p.getenv("SEALPRINT_PASSPHRASE"); v != "" {
		return []byte(v)
	}
	return nil
}

// senderKey returns the unlocked sender key.
func (p *pc) senderKey() (*envelope.Key, error) {
	return p.keys.SenderKey(p.passphrase())
}

// resolveRecipient turns a --to value into a public key: an email address
// (address book, pins, then the key directory) or a fingerprint or key id
// in the address book. Anything else — a path above all — is refused: a
// key file is given with --to-file, so that a file named like an address
// is never read as a key and an address always goes through its pin.
func (p *pc) resolveRecipient(spec string) (*envelope.Key, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, usageError("empty --to")
	}
	if !strings.Contains(spec, "@") && !isFingerprintLike(spec) {
		return nil, usageError("--to %q: --to takes an email address or a fingerprint; give a key file with --to-file FILE", spec)
	}
	return p.resolveAddressOrFingerprint(spec)
}

// isFingerprintLike reports whether s is a fingerprint or key id (hex,
// optionally 0x-prefixed, spaces allowed).
func isFingerprintLike(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), " ", ""))
	switch len(s) {
	case 16, 40, 64:
	default:
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// resolveKeyFile reads the one public key of a --to-file FILE.
func resolveKeyFile(spec string) (*envelope.Key, error) {
	{
		f, err := os.Open(spec)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		keys, err := envelope.ReadKeys(f)
		if err != nil {
			return nil, fmt.Errorf("recipient key file %s: %w", spec, err)
		}
		if len(keys) != 1 {
			return nil, fmt.Errorf("recipient key file %s holds %d keys; give one", spec, len(keys))
		}
		return usable(keys[0].Public())
	}
}

func (p *pc) resolveAddressOrFingerprint(spec string) (*envelope.Key, error) {
	found, err := p.keys.Find(strings.ReplaceAll(spec, " ", ""))
	if err != nil {
		return nil, err
	}
	if strings.Contains(spec, "@") {
		found = usableOnly(found)
		for _, k := range found {
			if err := p.keys.CheckPin(spec, k.Fingerprint()); err != nil {
				return nil, err
			}
		}
		if len(found) == 1 {
			// A key replaced in the directory must stop the send.
			if err := p.checkDirectory(spec); err != nil {
				return nil, err
			}
		}
	}
	switch len(found) {
	case 0:
		if k, err := p.lookupRecipient(spec); k != nil || err != nil {
			return k, err
		}
		return nil, fmt.Errorf("no key for %s in the address book: import it with 'sealprint keys import FILE' or look it up with 'sealprint keys lookup %s'", spec, spec)
	case 1:
		return usable(found[0])
	}
	var fprs []string
	for _, k := range found {
		fprs = append(fprs, k.Fingerprint())
	}
	return nil, fmt.Errorf("%d keys match %s (%s): pin one with 'sealprint keys pin %s FINGERPRINT'", len(found), spec, strings.Join(fprs, ", "), spec)
}

// lookupRecipient is the hook for finding unknown addresses in the key
// directory; nil, nil means "not found".
var lookupRecipient func(p *pc, email string) (*envelope.Key, error)

func (p *pc) lookupRecipient(spec string) (*envelope.Key, error) {
	if lookupRecipient == nil || !strings.Contains(spec, "@") {
		return nil, nil
	}
	return lookupRecipient(p, spec)
}

func usable(k *envelope.Key) (*envelope.Key, error) {
	if err := k.Check(time.Now()); err != nil {
		return nil, err
	}
	return k, nil
}

// usableOnly drops expired and revoked keys when an address has several.
func usableOnly(keys []*envelope.Key) []*envelope.Key {
	if len(keys) < 2 {
		return keys
	}
	var out []*envelope.Key
	for _, k := range keys {
		if k.Check(time.Now()) == nil {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return keys[:1]
	}
	return out
}

// verifiers returns the keys that may have signed a message the user opens:
// the address book and the user's own key.
func (p *pc) verifiers() []*envelope.Key {
	keys, _ := p.keys.Recipients()
	if own, err := p.keys.SenderPublic(); err == nil {
		keys = append(keys, own)
	}
	return keys
}

// ownKeys returns the secret keys that may open a message (the sender key),
// or none if the user has no key.
func (p *pc) ownKeys() ([]*envelope.Key, error) {
	k, err := p.senderKey()
	if errors.Is(err, keystore.ErrNoSenderKey) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []*envelope.Key{k}, nil
}

// keystoreOptions opens the key store with the OS keyring, or with the
// encrypted-file store alone when SEALPRINT_KEYRING=file (servers, CI, the
// demo). notice receives the one-time message about the file fallback.
func keystoreOptions(getenv func(string) string, notice io.Writer) keystore.Options {
	opts := keystore.Options{Notice: notice}
	if getenv("SEALPRINT_KEYRING") == "file" {
		opts.Keyring = keystore.NoKeyring{}
	}
	return opts
}

// terminalConfirm asks at the terminal whether a first key may be used;
// nil when stdin is not a terminal (scripts, services): then only
// --accept-new-key confirms.
func terminalConfirm(e *env) func(email, fingerprint, source string) bool {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(email, fpr, source string) bool {
		fmt.Fprintf(e.stderr, "First message to %s. Its key:\n  %s\n  (from %s)\n", email, groupFingerprint(fpr), source)
		fmt.Fprintf(e.stderr, "Premier envoi à %s : vérifiez cette empreinte avec le destinataire (par téléphone).\n", email)
		fmt.Fprint(e.stderr, "Is this the recipient's key? / Est-ce bien sa clé ? [y/N] ")
		var answer string
		fmt.Fscanln(e.stdin, &answer)
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes", "o", "oui":
			return true
		}
		return false
	}
}

// groupFingerprint writes a fingerprint in groups of four, as read aloud.
func groupFingerprint(fpr string) string {
	var b strings.Builder
	for i, c := range fpr {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
