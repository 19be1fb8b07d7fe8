package deliver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/deliver"
	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

// world is a real relay served on loopback, a sender enrolled in it, and a
// recipient with a key.
type world struct {
	data      relay.DataDir
	stages    *deliver.Stages
	client    *uploader.Client
	sender    *envelope.Key
	recipient *envelope.Key
}

func newWorld(t *testing.T, opts ...func(*relay.Config)) *world {
	t.Helper()
	data := relay.DataDir{Root: filepath.Join(t.TempDir(), "relay")}
	cfg, closer, err := data.Open()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewUnstartedServer(mux)
	cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(mux)
	ts.Config.Handler = srv.Wrap(mux)
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		closer.Close()
	})
	st, err := data.OpenStore()
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := relay.CreateSender(context.Background(), st, "Dr Durand", "durand@hospital.example", time.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{data: data}
	if w.sender, err = envelope.GenerateKey("Dr Claire Durand", "claire.durand@chu.example", nil); err != nil {
		t.Fatal(err)
	}
	if w.recipient, err = envelope.GenerateKey("Cdt Martin", "martin@police.example", nil); err != nil {
		t.Fatal(err)
	}
	if w.client, err = uploader.New(ts.URL, token, uploader.Options{Proxy: "direct"}); err != nil {
		t.Fatal(err)
	}
	w.stages, err = deliver.New(deliver.Options{
		Signer: w.sender,
		Recipients: func(_ context.Context, addrs []string) ([]*envelope.Key, error) {
			for _, a := range addrs {
				if a != "martin@police.example" {
					return nil, errors.New("no key for " + a)
				}
			}
			return []*envelope.Key{w.recipient.Public()}, nil
		},
		Relay: func() (*uploader.Client, error) { return w.client, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestPrintedJobReachesTheRelay runs every stage of a printed text job
// against a real relay: the recipient downloads a PDF signed by the
// sender, delivering again after a crash gives the same drop, and a
// revoked drop reads as revoked.
func TestPrintedJobReachesTheRelay(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	job := &spooler.Job{ID: "job-aaaaaaaaaaaaaaaaaaaaaaaaaa", Name: "rapport", Format: "text/plain",
		Recipients: []string{"martin@police.example"}, Created: time.Now()}

	var pdf bytes.Buffer
	res, err := w.stages.Render(ctx, job, strings.NewReader("Rapport médico-légal\n"), &pdf)
	if err != nil || res.Pages != 1 || res.PDFA != "yes" || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("render: %+v, %v", res, err)
	}
	var sealed bytes.Buffer
	sw, err := w.stages.Seal(ctx, job, &sealed)
	if err != nil {
		t.Fatal(err)
	}
	sw.Write(pdf.Bytes())
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sealed.Bytes())
	d := spooler.Delivery{JobID: job.ID, Size: int64(sealed.Len()), SHA256: hex.EncodeToString(sum[:]), Recipients: job.Recipients}
	drop, err := w.stages.Deliver(ctx, d, bytes.NewReader(sealed.Bytes()))
	if err != nil || !relayapi.ValidDropID(drop.ID) {
		t.Fatalf("deliver: %+v, %v", drop, err)
	}
	again, err := w.stages.Deliver(ctx, d, bytes.NewReader(sealed.Bytes()))
	if err != nil || again.ID != drop.ID {
		t.Fatalf("delivering the same job again made drop %q (%v), want %q", again.ID, err, drop.ID)
	}
	if st, err := w.stages.Status(ctx, drop.ID); err != nil || st.State != relayapi.StateReady || st.Downloads != 0 {
		t.Fatalf("status before download: %+v, %v", st, err)
	}

	var blob bytes.Buffer
	if _, err := w.client.Download(ctx, drop.ID, "", &blob); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	msg, err := envelope.Open(&blob, &got, envelope.OpenOptions{Keys: []*envelope.Key{w.recipient}, Verifiers: []*envelope.Key{w.sender.Public()}})
	if err != nil || !msg.Verified || !bytes.Equal(got.Bytes(), pdf.Bytes()) || msg.FileName != "rapport.pdf" {
		t.Fatalf("the recipient got %d bytes named %q, verified %v: %v", got.Len(), msg.FileName, msg.Verified, err)
	}
	if st, err := w.stages.Status(ctx, drop.ID); err != nil || st.Downloads != 1 {
		t.Fatalf("status after download: %+v, %v", st, err)
	}

	if err := w.stages.Revoke(ctx, drop.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := w.stages.Status(ctx, drop.ID); err != nil || st.State != relayapi.StateRevoked {
		t.Fatalf("status after revoke: %+v, %v", st, err)
	}
}

// Failures that retrying cannot cure are permanent; the relay's absence
// is not.
func TestPermanentFailures(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	job := &spooler.Job{ID: "job-bbbbbbbbbbbbbbbbbbbbbbbbbb", Name: "x", Format: "application/pdf",
		Recipients: []string{"nobody@police.example"}}
	if _, err := w.stages.Render(ctx, job, strings.NewReader("not a PDF at all"), &bytes.Buffer{}); !spooler.IsPermanent(err) {
		t.Errorf("a malformed document: %v, want a permanent error", err)
	}
	if _, err := w.stages.Seal(ctx, job, &bytes.Buffer{}); !spooler.IsPermanent(err) || !strings.Contains(err.Error(), "nobody@police.example") {
		t.Errorf("a recipient without a key: %v, want a permanent error naming it", err)
	}
	if err := w.stages.CheckRecipient(ctx, "nobody@police.example"); err == nil {
		t.Error("CheckRecipient accepted an address without a key")
	}

	down, err := uploader.New("http://127.0.0.1:1", "spt_x", uploader.Options{Proxy: "direct",
		Retry: uploader.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := deliver.New(deliver.Options{Signer: w.sender,
		Recipients: func(context.Context, []string) ([]*envelope.Key, error) { return nil, nil },
		Relay:      func() (*uploader.Client, error) { return down, nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Deliver(ctx, spooler.Delivery{JobID: job.ID, Size: 3, SHA256: strings.Repeat("0", 64)}, strings.NewReader("abc"))
	if err == nil || spooler.IsPermanent(err) {
		t.Errorf("an unreachable relay: %v, want an error to retry", err)
	}
	noRelay, _ := deliver.New(deliver.Options{Signer: w.sender,
		Recipients: func(context.Context, []string) ([]*envelope.Key, error) { return nil, nil },
		Relay:      func() (*uploader.Client, error) { return nil, errors.New("no relay configured") }})
	if _, err := noRelay.Status(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); !spooler.IsPermanent(err) {
		t.Errorf("no relay configured: %v, want a permanent error", err)
	}
}
