package uploader

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// PinError is returned when the relay's public key does not match the
// configured pin: either the relay changed its key or something between
// (a TLS-inspecting proxy) presents its own certificate.
type PinError struct {
	// Got is the SHA-256 of the presented leaf's SubjectPublicKeyInfo, hex.
	Got string
}

func (e *PinError) Error() string {
	return fmt.Sprintf("relay public key sha256 %s does not match the configured pin "+
		"(a TLS-inspecting proxy in the way, or the relay's key changed)", e.Got)
}

// maxCABundle bounds the extra CA file.
const maxCABundle = 4 << 20

// tlsConfig returns the client TLS configuration: system roots plus the
// PEM bundle at caFile, and the SPKI pin when given (hex or base64 of the
// SHA-256 of the leaf's SubjectPublicKeyInfo).
func tlsConfig(caFile, pin string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		st, err := os.Stat(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		if st.Size() > maxCABundle {
			return nil, fmt.Errorf("CA bundle %s: larger than %d bytes", caFile, maxCABundle)
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s: no PEM certificate found", caFile)
		}
	}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if pin != "" {
		want, err := parsePin(pin)
		if err != nil {
			return nil, err
		}
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("relay presented no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
			if got != want {
				return &PinError{Got: hex.EncodeToString(got[:])}
			}
			return nil
		}
	}
	return cfg, nil
}

// parsePin decodes a SHA-256 pin given in hex, base64 or "sha256/base64".
func parsePin(s string) ([32]byte, error) {
	var out [32]byte
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256/")
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) != 32 {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != 32 {
		return out, errors.New("pin: want the SHA-256 of the relay's public key, in hex or base64")
	}
	copy(out[:], b)
	return out, nil
}

// SPKIPin returns the pin (hex SHA-256 of the SubjectPublicKeyInfo) of cert.
func SPKIPin(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:])
}

// isCertError reports whether err is a certificate verification failure.
func isCertError(err error) bool {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &ve)
}
