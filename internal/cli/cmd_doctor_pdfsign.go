package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/sealprint/sealprint/internal/config"
)

// checkPDFSign checks the PDF signature settings: the key opens, its
// certificate is in date, and the TSA answers.
func (d *doctor) checkPDFSign(ctx context.Context, e *env, cfg *config.Config) {
	const name = "PDF signature"
	c := cfg.PDFSign
	if c == nil {
		d.info(name, "off (PDFs are not signed; see 'sealprint pdfsign setup')")
		return
	}
	if c.PKCS11 != nil && e.getenv("SEALPRINT_PKCS11_PIN") == "" {
		d.info(name, "PKCS#11 key on "+c.PKCS11.Module+": not opened (set SEALPRINT_PKCS11_PIN to check the card)")
	} else if p, err := openPC(e); err != nil {
		d.fail(name, err.Error(), "check sealprint's home directory")
	} else if s, err := p.pdfSigner(e); err != nil {
		d.fail(name, err.Error(), "run 'sealprint pdfsign setup' again (and check the card is inserted)")
	} else {
		cert := s.id.Certificate()
		s.Close()
		detail := fmt.Sprintf("%s (issued by %s), certificate valid until %s", cert.Subject.CommonName, cert.Issuer.CommonName, cert.NotAfter.UTC().Format("2006-01-02"))
		switch left := time.Until(cert.NotAfter); {
		case left <= 0:
			d.fail(name, detail, "the certificate has expired: get a new one and run 'sealprint pdfsign setup'")
		case left < 30*24*time.Hour:
			d.warn(name, detail, "the certificate expires within 30 days: renew it")
		default:
			d.ok(name, detail)
		}
	}
	if c.TSA == "" {
		d.info("timestamp authority", "none (PAdES B-B: signatures carry no trusted time)")
		return
	}
	p, err := openPC(e)
	if err != nil {
		return
	}
	s, err := p.pdfSignerTSA()
	if err != nil {
		d.fail("timestamp authority", err.Error(), "fix the proxy settings or the --tsa URL")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if t, err := s.Probe(ctx); err != nil {
		d.fail("timestamp authority", err.Error(), "jobs wait until the TSA answers: check the URL, the proxy, or the TSA's status")
	} else {
		d.ok("timestamp authority", fmt.Sprintf("%s answered, time %s", c.TSA, t.UTC().Format(time.RFC3339)))
	}
}
