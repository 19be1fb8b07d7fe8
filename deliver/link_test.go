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

// A link-mode job with a secret per recipient is sealed once for both: each
// secret opens the drop the relay holds, and a receipt's link proof comes
// back in the status, in the receipt's place, for the spooler to match.
func TestLinkSecretPerRecipientReachesTheRelay(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	secrets := map[string]string{}
	to := []string{"martin@nokey.example", "blanc@nokey.example"}
	for _, r := range to {
		s, err := envelope.NewLinkSecret()
		if err != nil {
			t.Fatal(err)
		}
		secrets[r] = s
	}
	job := &spooler.Job{ID: "job-cccccccccccccccccccccccccc", Name: "rapport", Format: "application/pdf",
		Recipients: to, Created: time.Now(), LinkSecrets: secrets, Send: &spooler.SendOptions{Mode: spooler.ModeLink}}
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
	sumHex := hex.EncodeToString(sum[:])
	drop, err := w.stages.Deliver(ctx, spooler.Delivery{JobID: job.ID, Size: int64(sealed.Len()), SHA256: sumHex,
		Recipients: job.Recipients, Options: job.SendOptionsOf()}, bytes.NewReader(sealed.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, r := range to {
		var blob, got bytes.Buffer
		dl, err := w.client.DownloadDrop(ctx, drop.ID, "", &blob)
		if err != nil {
			t.Fatal(err)
		}
		token = dl.ReceiptToken
		msg, err := envelope.Open(&blob, &got, envelope.OpenOptions{Secret: secrets[r], Verifiers: []*envelope.Key{w.sender.Public()}})
		if err != nil || !msg.Verified || !bytes.Equal(got.Bytes(), pdf) {
			t.Fatalf("%s's secret: %v", r, err)
		}
	}
	// Blanc's receipt (the second download's token).
	sk := sw.(interface{ SessionKey() []byte }).SessionKey()
	if err := w.client.PostSignedReceipt(ctx, drop.ID, relayapi.ReceiptRequest{Proof: envelope.ReceiptProof(sk, sumHex),
		LinkProof: envelope.LinkReceiptProof(secrets[to[1]], sumHex), Token: token}); err != nil {
		t.Fatal(err)
	}
	st, err := w.stages.Status(ctx, drop.ID)
	if err != nil || len(st.Receipts) != 1 || len(st.LinkProofs) != 1 {
		t.Fatalf("status %+v, %v", st, err)
	}
	if !envelope.CheckLinkReceipt(secrets[to[1]], sumHex, st.LinkProofs[0]) || envelope.CheckLinkReceipt(secrets[to[0]], sumHex, st.LinkProofs[0]) {
		t.Fatal("the link proof does not name Blanc alone")
	}
}
