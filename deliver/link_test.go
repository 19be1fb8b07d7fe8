package deliver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// A job released in link mode with an access code, an expiry, a download
// limit and a cover reaches a real relay: the relay asks for the code,
// the link secret opens it and shows the cover; the relay's limits are
// the ones asked for; a chase answers without SMTP that nothing was
// mailed.
func TestLinkModeJobReachesTheRelay(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	secret, err := envelope.NewLinkSecret()
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	deadline := time.Now().Add(20 * time.Hour).Truncate(time.Second)
	job := &spooler.Job{ID: "job-bbbbbbbbbbbbbbbbbbbbbbbbbb", Name: "rapport", Format: "application/pdf",
		Recipients: []string{"opj@nokey.example"}, Created: time.Now(), LinkSecret: secret, AccessCode: "31415926",
		Send: &spooler.SendOptions{Mode: spooler.ModeLink, Code: true, ExpiresIn: 48 * time.Hour, MaxDownloads: &two,
			Deadline: deadline, Reference: "PV 2026/001234"}}
	pdf := []byte("%PDF-1.7 rapport médico-légal\n")
	var sealed bytes.Buffer
	sw, err := w.stages.Seal(ctx, job, &sealed)
	if err != nil {
		t.Fatal(err)
	}
	sw.Write(pdf)
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sealed.Bytes())
	drop, err := w.stages.Deliver(ctx, spooler.Delivery{JobID: job.ID, Size: int64(sealed.Len()), SHA256: hex.EncodeToString(sum[:]),
		Recipients: job.Recipients, Options: job.SendOptionsOf(), AccessCode: job.AccessCode}, bytes.NewReader(sealed.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(drop.ExpiresAt); left < 47*time.Hour || left > 49*time.Hour {
		t.Fatalf("expires in %s", left)
	}
	info, err := w.client.Info(ctx, drop.ID)
	if err != nil || !info.NeedsCode || info.Mode != relayapi.ModeLink || info.DownloadsLeft == nil || *info.DownloadsLeft != 2 {
		t.Fatalf("%+v %v", info, err)
	}
	if mailed, err := w.stages.Chase(ctx, drop.ID); err != nil || mailed {
		t.Fatalf("chase without SMTP: %v %v", mailed, err)
	}
	if _, err := w.client.Download(ctx, drop.ID, "", &bytes.Buffer{}); err == nil {
		t.Fatal("downloaded without the code")
	}
	grant, err := w.client.SubmitCode(ctx, drop.ID, "31415926")
	if err != nil {
		t.Fatal(err)
	}
	var blob, got bytes.Buffer
	if _, err := w.client.Download(ctx, drop.ID, grant, &blob); err != nil {
		t.Fatal(err)
	}
	msg, err := envelope.Open(&blob, &got, envelope.OpenOptions{Secret: secret, Verifiers: []*envelope.Key{w.sender.Public()}})
	if err != nil || !msg.Verified || !bytes.Equal(got.Bytes(), pdf) {
		t.Fatalf("open: %v", err)
	}
	if !msg.Cover.Deadline.Equal(deadline) || msg.Cover.Reference != "PV 2026/001234" {
		t.Fatalf("cover %+v", msg.Cover)
	}
}
