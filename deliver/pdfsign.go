package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sealprint/sealprint/pdfsign"
	"github.com/sealprint/sealprint/spooler"
)

// DefaultMaxSignedPDF bounds a rendered PDF that is signed before sealing:
// the signature needs the whole document at hand, in memory (plaintext
// never goes to a temporary file).
const DefaultMaxSignedPDF = 256 << 20

// PDFSigner puts a PAdES signature on a rendered PDF: out gets the
// document in followed by the signature. A *pdfsign.TSAError means the
// timestamp a B-T policy requires could not be obtained.
type PDFSigner interface {
	SignPDF(ctx context.Context, out io.Writer, in io.ReadSeeker) (*pdfsign.Result, error)
}

// signingWriter collects the rendered PDF, and on Close signs it and
// writes the signed PDF into the OpenPGP message.
type signingWriter struct {
	ctx    context.Context
	signer PDFSigner
	sealed io.WriteCloser
	buf    bytes.Buffer
	max    int64
	job    string
	s      *Stages
	failed bool   // a Write failed: Close must not sign a partial PDF
	done   string // what was signed, for the job's record
	keys   []spooler.SealedKey
}

// SealedKeys returns the keys the message is encrypted to.
func (w *signingWriter) SealedKeys() []spooler.SealedKey { return w.keys }

// PDFSignature describes the signature Close made.
func (w *signingWriter) PDFSignature() string { return w.done }

func (w *signingWriter) Write(p []byte) (int, error) {
	if int64(w.buf.Len()+len(p)) > w.max {
		w.failed = true
		return 0, spooler.Permanent(fmt.Errorf("PDF larger than the %d bytes that can be signed", w.max))
	}
	return w.buf.Write(p)
}

func (w *signingWriter) Close() error {
	if w.failed {
		w.sealed.Close()
		return errors.New("PDF signature: incomplete document")
	}
	res, err := w.signer.SignPDF(w.ctx, w.sealed, bytes.NewReader(w.buf.Bytes()))
	w.buf.Reset()
	if err != nil {
		w.sealed.Close()
		var te *pdfsign.TSAError
		if errors.As(err, &te) {
			// Retried with backoff: the job waits for the timestamp
			// rather than leave without one.
			return fmt.Errorf("PDF signature held: no timestamp (PAdES B-T required): %w", err)
		}
		return fmt.Errorf("PDF signature: %w", err)
	}
	w.s.opt.Logger.Info("PDF signed", "job", w.job, "signer", res.Signer, "level", res.Level)
	w.done = fmt.Sprintf("PAdES %s by %s", res.Level, res.Signer)
	return w.sealed.Close()
}

// SessionKey passes the OpenPGP message's session key through.
func (w *signingWriter) SessionKey() []byte {
	if sk, ok := w.sealed.(interface{ SessionKey() []byte }); ok {
		return sk.SessionKey()
	}
	return nil
}
