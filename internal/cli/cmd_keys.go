package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/keystore"
)

const keysUsage = `sealprint keys COMMAND

Commands:
  generate --name NAME --email EMAIL   create your key (sender key)
  import FILE                          import keys (public → address book, secret → your key)
  export EMAIL|FPR [--secret]          print a key, armored
  list [--json]                        list your key and the address book
  pin EMAIL FINGERPRINT                accept FINGERPRINT as the key of EMAIL
  remove FINGERPRINT                   delete a key from the address book
  lookup EMAIL                         find a key in the key directory
  refresh                              refresh the address book from the key directory`

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, keysUsage)
		if len(args) == 0 {
			return usageError("keys: missing command")
		}
		return errHelp
	}
	sub := map[string]func(context.Context, *env, []string) error{
		"generate": runKeysGenerate,
		"import":   runKeysImport,
		"export":   runKeysExport,
		"list":     runKeysList,
		"pin":      runKeysPin,
		"remove":   runKeysRemove,
		"lookup":   runKeysLookup,
		"refresh":  runKeysRefresh,
	}[args[0]]
	if sub == nil {
		return usageError("keys: unknown command %q (try sealprint keys --help)", args[0])
	}
	return sub(ctx, e, args[1:])
}

func runKeysGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys generate", "sealprint keys generate --name NAME --email EMAIL [--profile compat|rfc9580] [--expires DURATION] [--force]\n\nThe secret key goes to the OS keyring (or a 0600 file where none exists);\nset SEALPRINT_PASSPHRASE to protect it with a passphrase.", e.stderr)
	name := fs.String("name", "", "your name, as recipients will see it")
	email := fs.String("email", "", "your email address")
	profile := fs.String("profile", "compat", "compat (GnuPG 2.2, OpenPGP.js) or rfc9580 (v6 keys, AEAD)")
	expires := fs.String("expires", "", "key lifetime, e.g. 2y or 365d (default: never)")
	force := fs.Bool("force", false, "replace an existing sender key")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	_, err := parsePositional(fs, args, 0, 0, "sealprint keys generate --name NAME --email EMAIL")
	if err != nil {
		return err
	}
	if *name == "" || *email == "" {
		return usageError("keys generate needs --name and --email")
	}
	prof, ok := envelope.ParseProfile(*profile)
	if !ok {
		return usageError("unknown --profile %q (compat or rfc9580)", *profile)
	}
	var lifetime time.Duration
	if *expires != "" {
		if lifetime, err = parseDuration(*expires); err != nil {
			return usageError("--expires: %v", err)
		}
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	if old, err := p.keys.SenderPublic(); err == nil && !*force {
		return fmt.Errorf("a sender key already exists (%s, %s); use --force to replace it", old.Identity(), old.Fingerprint())
	}
	k, err := envelope.GenerateKey(*name, *email, &envelope.KeyOptions{Profile: prof, Lifetime: lifetime})
	if err != nil {
		return err
	}
	where, err := p.keys.SetSenderKey(k, p.passphrase())
	if err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(e, map[string]any{"fingerprint": k.Fingerprint(), "identity": k.Identity(), "stored_in": where})
	}
	fmt.Fprintf(e.stdout, "created key %s\n  %s\n  secret key stored in the %s\n", k.Fingerprint(), k.Identity(), whereText(where))
	return nil
}

func whereText(where string) string {
	if where == "keyring" {
		return "OS keyring"
	}
	return "key store file (mode 0600)"
}

func runKeysImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys import", "sealprint keys import FILE [--replace]\n\nPublic keys go to the address book; a secret key becomes your sender key.", e.stderr)
	replace := fs.Bool("replace", false, "replace an existing sender key with an imported secret key")
	pos, err := parsePositional(fs, args, 1, 1, "sealprint keys import FILE")
	if err != nil {
		return err
	}
	f, err := openInput(e, pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	keys, err := envelope.ReadKeys(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.IsSecret() {
			if old, err := p.keys.SenderPublic(); err == nil && old.Fingerprint() != k.Fingerprint() && !*replace {
				return fmt.Errorf("%s is a secret key but a sender key exists (%s); use --replace", k.Fingerprint(), old.Fingerprint())
			}
			if k.IsLocked() {
				if err := k.Unlock(p.passphrase()); err != nil {
					return fmt.Errorf("%w (set SEALPRINT_PASSPHRASE to the key's passphrase)", err)
				}
			}
			where, err := p.keys.SetSenderKey(k, p.passphrase())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "imported your key %s %s (secret key in the %s)\n", k.Fingerprint(), k.Identity(), whereText(where))
			continue
		}
		pub, err := p.keys.AddRecipient(k)
		if err != nil {
			return err
		}
		status := ""
		if err := pub.Check(time.Now()); err != nil {
			status = " — warning: " + strings.TrimPrefix(err.Error(), envelope.ErrKeyUnusable.Error()+": ")
		}
		fmt.Fprintf(e.stdout, "imported %s %s%s\n", pub.Fingerprint(), pub.Identity(), status)
		for _, email := range pub.Emails() {
			if err := p.keys.CheckPin(email, pub.Fingerprint()); err != nil {
				fmt.Fprintf(e.stderr, "WARNING: %v\n", err)
				continue
			}
			if _, ok := p.keys.Pinned(email); !ok {
				if err := p.keys.Pin(email, pub.Fingerprint()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func runKeysExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys export", "sealprint keys export EMAIL|FINGERPRINT [--secret]", e.stderr)
	secret := fs.Bool("secret", false, "export your secret key (protected by SEALPRINT_PASSPHRASE if set)")
	pos, err := parsePositional(fs, args, 1, 1, "sealprint keys export EMAIL|FINGERPRINT [--secret]")
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	own, ownErr := p.keys.SenderPublic()
	isOwn := ownErr == nil && (own.HasEmail(pos[0]) || matchesFingerprint(own, pos[0]))
	if *secret {
		if !isOwn {
			return fmt.Errorf("no secret key for %s: only your own key has one", pos[0])
		}
		k, err := p.senderKey()
		if err != nil {
			return err
		}
		return k.WriteSecret(e.stdout, true, p.passphrase())
	}
	if isOwn {
		return own.WritePublic(e.stdout, true)
	}
	found, err := p.keys.Find(pos[0])
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("no key for %s", pos[0])
	}
	for _, k := range found {
		if err := k.WritePublic(e.stdout, true); err != nil {
			return err
		}
	}
	return nil
}

func matchesFingerprint(k *envelope.Key, q string) bool {
	q = strings.ToUpper(strings.TrimPrefix(q, "0x"))
	return q != "" && (k.Fingerprint() == q || k.KeyID() == q)
}

// keyJSON is the --json form of a key in 'keys list'.
type keyJSON struct {
	Fingerprint string     `json:"fingerprint"`
	Identity    string     `json:"identity"`
	Emails      []string   `json:"emails"`
	Algorithm   string     `json:"algorithm"`
	Version     int        `json:"version"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	Own         bool       `json:"own"`
	Pinned      []string   `json:"pinned_for,omitempty"`
	Problem     string     `json:"problem,omitempty"`
}

func describeKey(k *envelope.Key, own bool, pins map[string]string) keyJSON {
	j := keyJSON{Fingerprint: k.Fingerprint(), Identity: k.Identity(), Emails: k.Emails(),
		Algorithm: k.Algorithm(), Version: k.Version(), Created: k.Created().UTC(), Own: own}
	if exp := k.Expires(); !exp.IsZero() {
		exp = exp.UTC()
		j.Expires = &exp
	}
	for email, fpr := range pins {
		if fpr == j.Fingerprint {
			j.Pinned = append(j.Pinned, email)
		}
	}
	if err := k.Check(time.Now()); err != nil {
		j.Problem = strings.TrimPrefix(err.Error(), envelope.ErrKeyUnusable.Error()+": ")
	}
	return j
}

func runKeysList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys list", "sealprint keys list [--json]", e.stderr)
	jsonOut := fs.Bool("json", false, "print JSON")
	_, err := parsePositional(fs, args, 0, 0, "sealprint keys list [--json]")
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
	list := []keyJSON{}
	if own, err := p.keys.SenderPublic(); err == nil {
		list = append(list, describeKey(own, true, nil))
	} else if !errors.Is(err, keystore.ErrNoSenderKey) {
		return err
	}
	book, err := p.keys.Recipients()
	if err != nil {
		return err
	}
	for _, k := range book {
		list = append(list, describeKey(k, false, pins))
	}
	if *jsonOut {
		return writeJSON(e, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no keys: create yours with 'sealprint keys generate --name NAME --email EMAIL'")
		return nil
	}
	for _, k := range list {
		tag := "recipient"
		if k.Own {
			tag = "your key "
		}
		fmt.Fprintf(e.stdout, "%s  %s  %s  (%s)", tag, k.Fingerprint, k.Identity, k.Algorithm)
		if k.Problem != "" {
			fmt.Fprintf(e.stdout, "  [%s]", k.Problem)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}

func runKeysPin(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys pin", "sealprint keys pin EMAIL FINGERPRINT\n\nAccepts FINGERPRINT (already in the address book) as the key of EMAIL.", e.stderr)
	pos, err := parsePositional(fs, args, 2, 2, "sealprint keys pin EMAIL FINGERPRINT")
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	found, err := p.keys.Find(pos[1])
	if err != nil {
		return err
	}
	if len(found) != 1 || !found[0].HasEmail(pos[0]) {
		return fmt.Errorf("no key %s for %s in the address book", pos[1], pos[0])
	}
	if err := p.keys.Pin(pos[0], found[0].Fingerprint()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is now pinned to %s\n", strings.ToLower(pos[0]), found[0].Fingerprint())
	return nil
}

func runKeysRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlags("keys remove", "sealprint keys remove FINGERPRINT", e.stderr)
	pos, err := parsePositional(fs, args, 1, 1, "sealprint keys remove FINGERPRINT")
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	if err := p.keys.RemoveRecipient(pos[0]); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no key %s in the address book", pos[0])
		}
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s\n", strings.ToUpper(pos[0]))
	return nil
}

// writeJSON prints v as indented JSON.
func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
