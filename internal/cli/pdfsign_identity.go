package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/pdfsign"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

// p12Secret names the PKCS#12 passphrase in the secret store, and p12File
// the copy of the PKCS#12 file in the home directory.
const (
	p12Secret = "pdfsign-p12"
	p12File   = "pdfsign.p12"
	chainFile = "pdfsign-chain.pem"
)

// pinCache holds the PKCS#11 PIN for the life of the process: asked once,
// never written anywhere.
var pinCache struct {
	sync.Mutex
	pin string
}

// pkcs11PIN returns the token's PIN: SEALPRINT_PKCS11_PIN, else the PIN
// typed earlier in this process, else a prompt on the terminal.
func pkcs11PIN(e *env) (string, error) {
	if v := e.getenv("SEALPRINT_PKCS11_PIN"); v != "" {
		return v, nil
	}
	pinCache.Lock()
	defer pinCache.Unlock()
	if pinCache.pin != "" {
		return pinCache.pin, nil
	}
	pin, err := readSecret(e, "PIN of the card or token: ")
	if err != nil {
		return "", fmt.Errorf("PKCS#11 PIN: %w (set SEALPRINT_PKCS11_PIN for non-interactive use)", err)
	}
	pinCache.pin = pin
	return pin, nil
}

// forgetPIN drops a PIN the token refused.
func forgetPIN() {
	pinCache.Lock()
	pinCache.pin = ""
	pinCache.Unlock()
}

// readSecret prompts on stderr and reads a line from the terminal without
// echo. Without a terminal it fails: secrets are not read from pipes by
// accident.
func readSecret(e *env, prompt string) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask on")
	}
	fmt.Fprint(e.stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// pdfSigner is a configured signing identity with its options.
type pdfSigner struct {
	id     *pdfsign.Identity
	closer io.Closer
	opts   pdfsign.Options
}

// Close ends the token session, if any.
func (s *pdfSigner) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// pdfSigner opens the identity 'sealprint pdfsign setup' configured,
// asking for a token's PIN as pkcs11PIN does. It returns nil, nil when
// PDF signing is not configured.
func (p *pc) pdfSigner(e *env) (*pdfSigner, error) {
	s, err := p.pdfSignerWith(func() (string, error) { return pkcs11PIN(e) })
	var pe *pdfsign.PINError
	if errors.As(err, &pe) {
		forgetPIN()
	}
	return s, err
}

// pdfSignerWith is pdfSigner with the token's PIN from pin (called only
// for a PKCS#11 key, once, before the single login).
func (p *pc) pdfSignerWith(pin func() (string, error)) (*pdfSigner, error) {
	c := p.cfg.PDFSign
	if c == nil {
		return nil, nil
	}
	s := &pdfSigner{opts: pdfsign.Options{Reason: c.Reason, Location: c.Location, Visible: c.Visible}}
	if c.TSA != "" {
		var err error
		if s.opts.TSA, err = p.pdfSignerTSA(); err != nil {
			return nil, err
		}
	}
	switch {
	case c.P12 != "":
		pass, err := p.keys.Secrets().Get(p12Secret)
		if err != nil {
			return nil, fmt.Errorf("PKCS#12 passphrase: %w (run 'sealprint pdfsign setup --p12 FILE' again)", err)
		}
		f, err := os.Open(c.P12)
		if err != nil {
			return nil, fmt.Errorf("PKCS#12 file: %w", err)
		}
		defer f.Close()
		if s.id, err = pdfsign.OpenPKCS12(f, string(pass)); err != nil {
			return nil, err
		}
	case c.PKCS11 != nil:
		pin, err := pin()
		if err != nil {
			return nil, err
		}
		k := c.PKCS11
		s.id, s.closer, err = pdfsign.OpenPKCS11(pdfsign.PKCS11Config{Module: k.Module, Slot: k.Slot,
			TokenLabel: k.TokenLabel, KeyLabel: k.KeyLabel, PIN: pin})
		if err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("PDF signature configured without a key: run 'sealprint pdfsign setup'")
	}
	if c.Chain != "" {
		certs, err := readCertificates(c.Chain)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.id.AddChain(certs)
	}
	return s, nil
}

// readCertificates reads a PEM file of certificates (at most 1 MiB).
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := readBounded(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate chain %s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("certificate chain %s: no PEM certificate", path)
	}
	return certs, nil
}

// pdfSignerTSA is the configured timestamp authority, reached through
// this PC's proxy settings.
func (p *pc) pdfSignerTSA() (*pdfsign.TSA, error) {
	url := p.cfg.PDFSign.TSA
	client, err := p.clientFor(url, "")
	if err != nil {
		return nil, fmt.Errorf("timestamp authority %s: %w", url, err)
	}
	return &pdfsign.TSA{URL: url, Client: client.HTTPClient()}, nil
}

// setupPDFSign checks and stores a PDF signing configuration. pass is
// the PKCS#12 passphrase (for a P12 setup); chain, a PEM file of
// intermediate certificates to copy into the home directory.
func (p *pc) setupPDFSign(e *env, c *config.PDFSign, p12Data []byte, pass, chain string, check bool) (string, error) {
	if c.TSA != "" {
		u, err := url.Parse(c.TSA)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", usageError("--tsa %q: want http(s)://host/path", c.TSA)
		}
	}
	if chain != "" {
		if _, err := readCertificates(chain); err != nil {
			return "", err
		}
		data, _ := readBounded(chain, 1<<20)
		if err := os.MkdirAll(p.home, 0o700); err != nil {
			return "", err
		}
		c.Chain = filepath.Join(p.home, chainFile)
		if err := atomicfile.WriteFile(c.Chain, data, 0o600); err != nil {
			return "", err
		}
	}
	var what string
	switch {
	case p12Data != nil:
		id, err := pdfsign.OpenPKCS12(bytes.NewReader(p12Data), pass)
		if err != nil {
			return "", err
		}
		if len(id.Chain) == 1 && chain == "" {
			defer fmt.Fprintln(e.stderr, "note: the PKCS#12 file holds no CA certificate; give --chain FILE if verifiers need the intermediates")
		}
		what = fmt.Sprintf("PKCS#12 key of %s (issued by %s)", id.Certificate().Subject, id.Certificate().Issuer)
		if err := os.MkdirAll(p.home, 0o700); err != nil {
			return "", err
		}
		c.P12 = filepath.Join(p.home, p12File)
		if err := atomicfile.WriteFile(c.P12, p12Data, 0o600); err != nil {
			return "", err
		}
		where, err := p.keys.Secrets().Set(p12Secret, []byte(pass))
		if err != nil {
			return "", fmt.Errorf("store the PKCS#12 passphrase: %w", err)
		}
		what += ", passphrase in the " + map[string]string{"keyring": "OS keyring", "file": "secrets file"}[where]
	case c.PKCS11 != nil:
		what = "PKCS#11 key on " + c.PKCS11.Module
		if check {
			saved := p.cfg.PDFSign
			p.cfg.PDFSign = c
			s, err := p.pdfSigner(e)
			p.cfg.PDFSign = saved
			if err != nil {
				return "", err
			}
			what = fmt.Sprintf("PKCS#11 key of %s (issued by %s) on %s, %d certificate(s) sent with each signature",
				s.id.Certificate().Subject, s.id.Certificate().Issuer, c.PKCS11.Module, len(s.id.Chain))
			s.Close()
		} else {
			what += " (not checked: no PIN given)"
		}
	}
	file, err := config.LoadFile(p.home)
	if err != nil {
		return "", err
	}
	file.PDFSign = c
	if err := config.Save(p.home, file); err != nil {
		return "", err
	}
	p.cfg.PDFSign = c
	return what, nil
}

// signPDF signs the PDF in in to out with the configured identity.
func (s *pdfSigner) sign(ctx context.Context, out io.Writer, in io.ReadSeeker) (*pdfsign.Result, error) {
	return pdfsign.Sign(ctx, out, in, s.id, s.opts)
}

// jobPDFSigner signs the PDFs of print jobs for deliver: it opens the
// configured identity at the first job and keeps it; a failure other than
// the TSA's drops it, so that the next attempt opens the card again (it
// may have been pulled out).
//
// A card's PIN is the one entered this session (the jobs page, 'sealprint
// jobs pin'), else SEALPRINT_PKCS11_PIN; with neither, the job waits for
// it (jobs.ErrPINRequired) without touching the card. A PIN the card
// refuses is never tried again by itself: the next jobs wait until the
// user enters one, so that retries cannot lock the card.
type jobPDFSigner struct {
	p  *pc
	e  *env
	mu sync.Mutex
	s  *pdfSigner
	// pin is the PIN entered this session: in memory only, never logged.
	pin string
	// envRefused: the card refused SEALPRINT_PKCS11_PIN once.
	envRefused bool
}

// card reports whether the PDF signer is a PKCS#11 token.
func (j *jobPDFSigner) card() bool {
	return j.p.cfg.PDFSign != nil && j.p.cfg.PDFSign.PKCS11 != nil
}

// SignPDF implements deliver.PDFSigner.
func (j *jobPDFSigner) SignPDF(ctx context.Context, out io.Writer, in io.ReadSeeker) (*pdfsign.Result, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.s == nil {
		s, err := j.open()
		if err != nil {
			return nil, err
		}
		j.s = s
	}
	ctx, cancel := context.WithTimeout(ctx, tsaTimeout)
	defer cancel()
	res, err := j.s.sign(ctx, out, in)
	var te *pdfsign.TSAError
	if err != nil && !errors.As(err, &te) {
		j.s.Close()
		j.s = nil
	}
	return res, err
}

// open opens the identity with the session's PIN (j.mu held).
func (j *jobPDFSigner) open() (*pdfSigner, error) {
	if !j.card() {
		s, err := j.p.pdfSignerWith(nil)
		if err == nil && s == nil {
			err = errors.New("PDF signing is no longer configured")
		}
		return s, err
	}
	pin, fromEnv := j.pin, false
	if pin == "" && !j.envRefused {
		pin, fromEnv = j.e.getenv("SEALPRINT_PKCS11_PIN"), true
	}
	if pin == "" {
		return nil, spooler.NeedsConfirmation(jobs.ErrPINRequired)
	}
	s, err := j.p.pdfSignerWith(func() (string, error) { return pin, nil })
	var pe *pdfsign.PINError
	if errors.As(err, &pe) {
		// Refused once: not tried again until the user enters a PIN.
		if fromEnv {
			j.envRefused = true
		} else {
			j.pin = ""
		}
		return nil, spooler.NeedsConfirmation(fmt.Errorf("%w (%v)", jobs.ErrPINRequired, err))
	}
	return s, err
}

// EnterPIN implements jobs.PINEntry: one login with pin; kept for the
// session if the card takes it.
func (j *jobPDFSigner) EnterPIN(ctx context.Context, pin string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.card() {
		return errors.New("the PDF signer is not a card: no PIN to enter")
	}
	if j.s != nil {
		j.s.Close()
		j.s = nil
	}
	j.pin = ""
	s, err := j.p.pdfSignerWith(func() (string, error) { return pin, nil })
	if err != nil {
		return err
	}
	j.s, j.pin = s, pin
	return nil
}

// Close ends the token session.
func (j *jobPDFSigner) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.s != nil {
		return j.s.Close()
	}
	return nil
}
