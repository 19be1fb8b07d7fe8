package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/atomicfile"
)

func runSeal(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint seal FILE --to EMAIL|FPR [--to …] [--to-file KEYFILE …] [-o OUT] [--armor]"
	fs := newFlags("seal", usage+"\n\nSigns FILE with your key and encrypts it to each recipient, offline (like gpg -e).", e.stderr)
	var to listFlag
	fs.Var(&to, "to", "recipient: email address or fingerprint (repeatable)")
	var toFile listFlag
	fs.Var(&toFile, "to-file", "recipient's public key file (repeatable)")
	var acceptNew listFlag
	fs.Var(&acceptNew, "accept-new-key", "fingerprint confirmed with a recipient written to for the first time (repeatable)")
	out := fs.String("o", "", "output file (default FILE.pgp, or FILE.asc with --armor; - for stdout)")
	armored := fs.Bool("armor", false, "ASCII-armored output")
	profile := fs.String("profile", "compat", "compat or rfc9580")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	if len(to) == 0 && len(toFile) == 0 {
		return usageError("seal needs at least one --to (or --to-file)")
	}
	prof, ok := envelope.ParseProfile(*profile)
	if !ok {
		return usageError("unknown --profile %q", *profile)
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	p.acceptNew, p.confirm = acceptNew, terminalConfirm(e)
	signer, err := p.senderKey()
	if err != nil {
		return err
	}
	recipients, err := p.resolveAll(to, toFile...)
	if err != nil {
		return err
	}
	in, err := openInput(e, pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	dest := *out
	if dest == "" {
		if pos[0] == "-" {
			dest = "-"
		} else if *armored {
			dest = pos[0] + ".asc"
		} else {
			dest = pos[0] + ".pgp"
		}
	}
	fill := func(w io.Writer) error {
		if *armored {
			aw, err := armor.Encode(w, "PGP MESSAGE", nil)
			if err != nil {
				return err
			}
			if _, _, err := sealStream(aw, in, signer, recipients, nil, filepath.Base(pos[0]), prof); err != nil {
				return err
			}
			if err := aw.Close(); err != nil {
				return err
			}
			_, err = io.WriteString(w, "\n")
			return err
		}
		_, _, err := sealStream(w, in, signer, recipients, nil, filepath.Base(pos[0]), prof)
		return err
	}
	if dest == "-" {
		return fill(e.stdout)
	}
	if err := atomicfile.WriteOutput(dest, 0o644, fill); err != nil {
		return err
	}
	names := make([]string, len(recipients))
	for i, r := range recipients {
		names[i] = r.Identity()
	}
	fmt.Fprintf(e.stderr, "sealed %s → %s for %s\n", pos[0], dest, strings.Join(names, ", "))
	return nil
}

// sealStream copies in through a sealing writer into w and returns the
// recipients' sealed keys and the message's session key.
func sealStream(w io.Writer, in io.Reader, signer *envelope.Key, to []*envelope.Key, secrets []string, name string, prof envelope.Profile) ([]envelope.SealedKey, []byte, error) {
	sw, err := envelope.Seal(w, envelope.SealOptions{Signer: signer, Recipients: to, Secrets: secrets, FileName: name, Profile: prof})
	if err != nil {
		return nil, nil, err
	}
	// Large reads let hashing and encryption overlap in big steps.
	if _, err := io.CopyBuffer(sw, struct{ io.Reader }{in}, make([]byte, 256<<10)); err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	return sw.Keys(), sw.SessionKey(), sw.Close()
}

// resolveAll resolves every --to value, then every --to-file.
func (p *pc) resolveAll(specs []string, files ...string) ([]*envelope.Key, error) {
	var keys []*envelope.Key
	seen := map[string]bool{}
	for i, s := range append(append([]string(nil), specs...), files...) {
		var k *envelope.Key
		var err error
		if i < len(specs) {
			k, err = p.resolveRecipient(s)
		} else {
			k, err = resolveKeyFile(s)
		}
		if err != nil {
			return nil, err
		}
		if !seen[k.Fingerprint()] {
			seen[k.Fingerprint()] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
