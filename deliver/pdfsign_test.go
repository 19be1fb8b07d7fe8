package deliver_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/deliver"
	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/pdfsign"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

// signer signs with an in-memory identity and a real TSA.
type signer struct {
	id  *pdfsign.Identity
	tsa *pdfsign.TSA
}

func (s signer) SignPDF(ctx context.Context, out io.Writer, in io.ReadSeeker) (*pdfsign.Result, error) {
	return pdfsign.Sign(ctx, out, in, s.id, pdfsign.Options{TSA: s.tsa, Reason: "Rapport"})
}

// With a PDF signer, what the recipient opens is the rendered PDF followed
// by a PAdES B-T signature, and the job's record names it; a TSA failure
// fails the seal (to be retried) instead of sealing an unstamped PDF.
func TestSealSignsThePDF(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	key := testutil.NewRSAKey(t)
	id := &pdfsign.Identity{Key: key, Chain: []*x509.Certificate{ca.Issue(t, "Dr Claire Durand", key.Public())}}
	w := newWorld(t) // a real relay: Seal reads its policy
	sender, recipient := w.sender, w.recipient
	stages, err := deliver.New(deliver.Options{
		Signer: sender,
		Recipients: func(context.Context, []string) ([]*envelope.Key, error) {
			return []*envelope.Key{recipient.Public()}, nil
		},
		Relay:     func() (*uploader.Client, error) { return w.client, nil },
		PDFSigner: signer{id: id, tsa: &pdfsign.TSA{URL: tsa.URL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	job := &spooler.Job{ID: "job-bbbbbbbbbbbbbbbbbbbbbbbbbb", Name: "rapport", Format: "text/plain",
		Recipients: []string{"martin@police.example"}, Created: time.Now()}
	var pdf bytes.Buffer
	if _, err := stages.Render(ctx, job, strings.NewReader("Rapport ✓\n"), &pdf); err != nil {
		t.Fatal(err)
	}
	seal := func() ([]byte, string, error) {
		var sealed bytes.Buffer
		w, err := stages.Seal(ctx, job, &sealed)
		if err != nil {
			return nil, "", err
		}
		w.Write(pdf.Bytes())
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		desc := ""
		if d, ok := w.(interface{ PDFSignature() string }); ok {
			desc = d.PDFSignature()
		}
		return sealed.Bytes(), desc, nil
	}
	sealed, desc, err := seal()
	if err != nil {
		t.Fatal(err)
	}
	if desc != "PAdES B-T by Dr Claire Durand" {
		t.Fatalf("record: %q", desc)
	}
	var got bytes.Buffer
	msg, err := envelope.Open(bytes.NewReader(sealed), &got, envelope.OpenOptions{Keys: []*envelope.Key{recipient}, Verifiers: []*envelope.Key{sender.Public()}})
	if err != nil || !msg.Verified || !bytes.HasPrefix(got.Bytes(), pdf.Bytes()) || got.Len() == pdf.Len() {
		t.Fatalf("opened %d bytes (rendered %d), verified %v: %v", got.Len(), pdf.Len(), msg != nil && msg.Verified, err)
	}
	rep, err := pdfsign.Verify(bytes.NewReader(got.Bytes()), int64(got.Len()), pdfsign.VerifyOptions{Roots: ca.Pool()})
	if err != nil || !rep.Valid() || rep.Signatures[0].Level != "B-T" || !rep.Signatures[0].Trusted {
		t.Fatalf("signature: %+v, %v", rep, err)
	}

	tsa.Down.Store(true)
	_, _, err = seal()
	var te *pdfsign.TSAError
	if !errors.As(err, &te) || spooler.IsPermanent(err) || !strings.Contains(err.Error(), "PAdES B-T required") {
		t.Fatalf("TSA down: %v", err)
	}
}
