package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/render"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

// Options says who sends and how to reach recipients and the relay.
type Options struct {
	// Signer is the sender's key: it signs every document and names the
	// author in the PDF's metadata.
	Signer *envelope.Key
	// Recipients resolves e-mail addresses to the public keys to encrypt
	// to (the address book and pinned keys), each key once. Its errors fail
	// the job for good: retrying would not find another key.
	Recipients func(ctx context.Context, addresses []string) ([]*envelope.Key, error)
	// Relay returns the client of the relay to deliver to. It is called
	// before each relay request, so that a new enrolment takes effect
	// without a restart; its errors (no relay configured, bad settings)
	// fail the job for good until it is retried.
	Relay func() (*uploader.Client, error)
	// PDFSigner, when set, signs every rendered PDF (PAdES) before it is
	// sealed, so the PDF inside the envelope carries its own proof.
	PDFSigner PDFSigner
	// MaxSignedPDF bounds a PDF to sign; 0 means DefaultMaxSignedPDF.
	MaxSignedPDF int64
	// Logger receives operational logs (never content, links or keys).
	Logger *slog.Logger
}

// Stages implements spooler.Renderer, spooler.Sealer and
// spooler.Deliverer for one sender.
type Stages struct {
	opt       Options
	senderPub string // armored public key, sent with each drop
	policy    policyCache
}

var (
	_ spooler.Renderer  = (*Stages)(nil)
	_ spooler.Sealer    = (*Stages)(nil)
	_ spooler.Deliverer = (*Stages)(nil)
)

// New returns the stages for opt. Signer, Recipients and Relay are
// required.
func New(opt Options) (*Stages, error) {
	if opt.Signer == nil || opt.Recipients == nil || opt.Relay == nil {
		return nil, errors.New("deliver: Signer, Recipients and Relay are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var pub strings.Builder
	if err := opt.Signer.Public().WritePublic(&pub, true); err != nil {
		return nil, fmt.Errorf("deliver: sender's public key: %w", err)
	}
	return &Stages{opt: opt, senderPub: pub.String()}, nil
}

// Render turns the spooled document into a PDF. Documents that cannot be
// rendered (bad format, over a limit) fail for good.
func (s *Stages) Render(ctx context.Context, job *spooler.Job, in io.Reader, out io.Writer) (spooler.RenderResult, error) {
	copies, _ := strconv.Atoi(job.Attrs["copies"])
	info, err := render.ToPDF(ctx, job.Format, in, out, render.Meta{
		Title: job.Name, Author: s.opt.Signer.Identity(), Created: job.Created,
		PageRanges: job.Attrs["page-ranges"], Copies: copies, Sides: job.Attrs["sides"],
	})
	if err != nil {
		var fe *render.FormatError
		var le *render.LimitError
		if errors.As(err, &fe) || errors.As(err, &le) || errors.Is(err, render.ErrUnsupported) {
			return spooler.RenderResult{}, spooler.Permanent(err)
		}
		return spooler.RenderResult{}, err
	}
	pdfa := "unknown"
	if info.PDFA {
		pdfa = "yes"
	}
	return spooler.RenderResult{Pages: info.Pages, PDFA: pdfa}, nil
}

// Seal signs with the sender's key and encrypts to the job's recipients'
// keys, or in link mode to the job's link secret; the job's deadline and
// reference travel inside as the envelope's cover. With a PDFSigner, the
// PDF is first signed (PAdES) and the signed PDF is what gets sealed.
func (s *Stages) Seal(ctx context.Context, job *spooler.Job, dst io.Writer) (io.WriteCloser, error) {
	opt := job.SendOptionsOf()
	so := envelope.SealOptions{
		Signer: s.opt.Signer, FileName: strings.TrimSuffix(job.Name, ".pdf") + ".pdf", ModTime: job.Created,
		Cover: envelope.Cover{Deadline: opt.Deadline, Reference: opt.Reference},
	}
	if opt.Link() {
		// Each recipient's own secret (one SKESK packet each, in the
		// order of the recipients), or one for all of them (a job
		// released before recipients had their own).
		so.Secrets = job.RecipientLinkSecrets()
		if len(so.Secrets) == 0 {
			so.Secret = job.LinkSecret
			if !envelope.ValidLinkSecret(job.LinkSecret) {
				return nil, spooler.Permanent(errors.New("link mode without a valid link secret"))
			}
		}
		for _, s := range so.Secrets {
			if !envelope.ValidLinkSecret(s) {
				return nil, spooler.Permanent(errors.New("link mode without a valid link secret"))
			}
		}
	} else {
		keys, err := s.opt.Recipients(ctx, job.Recipients)
		if spooler.IsConfirmation(err) {
			// A recipient written to for the first time: the job is
			// held with the fingerprint to confirm, never sealed to it
			// unasked.
			return nil, err
		}
		if err != nil {
			return nil, spooler.Permanent(err)
		}
		so.Recipients = keys
	}
	// The organisation's archive key is a recipient like any other, in
	// both modes (link mode: the secret or the archive key opens it).
	arch, err := s.archiveKey(ctx)
	if err != nil {
		return nil, err
	}
	if arch != nil {
		so.Recipients = append(so.Recipients, arch)
	}
	w, err := envelope.Seal(dst, so)
	if err != nil {
		return nil, err
	}
	keys := sealedKeys(w.Keys(), so.Recipients, job.Recipients)
	if s.opt.PDFSigner == nil {
		return &keyedWriter{Writer: w, keys: keys}, nil
	}
	limit := s.opt.MaxSignedPDF
	if limit <= 0 {
		limit = DefaultMaxSignedPDF
	}
	return &signingWriter{ctx: ctx, signer: s.opt.PDFSigner, sealed: w, max: limit, job: job.ID, s: s, keys: keys}, nil
}

// CheckRecipient refuses an address without a usable key, for
// spooler.Options.CheckRecipient (a release names only addresses that can
// be sealed for).
func (s *Stages) CheckRecipient(ctx context.Context, address string) error {
	_, err := s.opt.Recipients(ctx, []string{address})
	return err
}
