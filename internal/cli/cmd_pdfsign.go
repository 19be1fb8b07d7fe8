package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/internal/config"
)

const pdfsignUsage = `sealprint pdfsign FILE.pdf -o OUT.pdf
sealprint pdfsign setup (--pkcs11 MODULE.so [--slot N|--token-label L] [--key-label K] | --p12 FILE)
                        [--chain CAS.pem] [--tsa URL] [--reason R] [--location L] [--visible]`

// tsaTimeout bounds one signature's wait for the timestamp authority.
const tsaTimeout = 60 * time.Second

func runPDFSign(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "setup" {
		return runPDFSignSetup(ctx, e, args[1:])
	}
	fs := newFlags("pdfsign", pdfsignUsage+`

Signs FILE.pdf with the key chosen by 'pdfsign setup' (PAdES B-B, or B-T
with a timestamp when a TSA is configured) and writes OUT.pdf: the original
bytes followed by the signature, which any PDF reader shows. The PKCS#11
PIN is asked once (or read from SEALPRINT_PKCS11_PIN) and never stored.`, e.stderr)
	out := fs.String("o", "", "output PDF")
	pos, err := parsePositional(fs, args, 1, 1, pdfsignUsage)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError("pdfsign needs -o OUT.pdf")
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	s, err := p.pdfSigner(e)
	if err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("no PDF signature configured: run 'sealprint pdfsign setup --p12 FILE' or '--pkcs11 MODULE.so'")
	}
	defer s.Close()
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(ctx, tsaTimeout)
	defer cancel()
	var level, signer string
	err = atomicfile.Write(*out, 0o644, func(w io.Writer) error {
		res, err := s.sign(ctx, w, in)
		if err != nil {
			return err
		}
		level, signer = res.Level, res.Signer
		return nil
	})
	if err != nil {
		return fmt.Errorf("sign %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "%s: signed by %s (PAdES %s)\n", *out, signer, level)
	return nil
}

func runPDFSignSetup(ctx context.Context, e *env, args []string) error {
	fs := newFlags("pdfsign setup", pdfsignUsage+`

Chooses the key that signs the PDFs this PC sends: a smart card or HSM
through its PKCS#11 module, or a PKCS#12 file (an organisation seal). The
PKCS#12 file is copied into sealprint's home and its passphrase (typed, or
SEALPRINT_P12_PASSPHRASE) goes to the OS keyring. With --tsa every
signature gets an RFC 3161 timestamp (PAdES B-T), and a job whose
timestamp cannot be obtained is held rather than sent without one.`, e.stderr)
	module := fs.String("pkcs11", "", "PKCS#11 module of the card or HSM (e.g. /usr/lib/softhsm/libsofthsm2.so)")
	slot := fs.Int("slot", -1, "PKCS#11 slot number")
	tokenLabel := fs.String("token-label", "", "PKCS#11 token label")
	keyLabel := fs.String("key-label", "", "label of the key on the token (default: the only key with a certificate)")
	p12 := fs.String("p12", "", "PKCS#12 file (.p12, .pfx)")
	tsa := fs.String("tsa", "", "RFC 3161 timestamp authority URL")
	reason := fs.String("reason", "", "reason shown with the signature")
	location := fs.String("location", "", "place shown with the signature")
	visible := fs.Bool("visible", false, "draw the signature on the first page")
	chain := fs.String("chain", "", "PEM file of intermediate CA certificates to send with each signature")
	if _, err := parsePositional(fs, args, 0, 0, pdfsignUsage); err != nil {
		return err
	}
	if (*module == "") == (*p12 == "") {
		return usageError("pdfsign setup needs exactly one of --pkcs11 MODULE.so and --p12 FILE")
	}
	c := &config.PDFSign{TSA: *tsa, Reason: *reason, Location: *location, Visible: *visible}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	var data []byte
	var pass string
	check := true
	if *p12 != "" {
		if *slot >= 0 || *tokenLabel != "" || *keyLabel != "" {
			return usageError("--slot, --token-label and --key-label go with --pkcs11")
		}
		if data, err = readBounded(*p12, 1<<20); err != nil {
			return err
		}
		if pass = e.getenv("SEALPRINT_P12_PASSPHRASE"); pass == "" {
			if pass, err = readSecret(e, "Passphrase of "+*p12+": "); err != nil {
				return fmt.Errorf("PKCS#12 passphrase: %w (set SEALPRINT_P12_PASSPHRASE)", err)
			}
		}
	} else {
		if (*slot >= 0) == (*tokenLabel != "") {
			return usageError("--pkcs11 needs exactly one of --slot N and --token-label L")
		}
		k := &config.PKCS11{Module: *module, TokenLabel: *tokenLabel, KeyLabel: *keyLabel}
		if *slot >= 0 {
			k.Slot = slot
		}
		c.PKCS11 = k
		if _, err := os.Stat(*module); err != nil {
			return fmt.Errorf("PKCS#11 module: %w", err)
		}
		_, perr := pkcs11PIN(e)
		check = perr == nil
	}
	what, err := p.setupPDFSign(e, c, data, pass, *chain, check)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "PDF signature: %s\n", what)
	if c.TSA != "" {
		fmt.Fprintf(e.stdout, "Timestamp: %s (required: PAdES B-T)\n", c.TSA)
	} else {
		fmt.Fprintln(e.stdout, "Timestamp: none (PAdES B-B; add --tsa URL for B-T)")
	}
	return nil
}
