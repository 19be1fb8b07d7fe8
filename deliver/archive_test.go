package deliver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// With an archive key in the relay's policy, every document is also
// sealed to it, in key and link mode, and the relay accepts it; the
// archive key's holder opens each.
func TestArchiveCopy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	archive, err := envelope.GenerateKey("Archives CHU", "archives@chu.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	archive.Public().WritePublic(&pub, true)
	if err := relay.SavePolicy(w.data.PolicyFile(), relayapi.Policy{ArchiveKey: pub.String()}); err != nil {
		t.Fatal(err)
	}
	secret, _ := envelope.NewLinkSecret()
	for i, job := range []*spooler.Job{
		{ID: "job-cccccccccccccccccccccccccc", Name: "a", Recipients: []string{"martin@police.example"}, Created: time.Now()},
		{ID: "job-dddddddddddddddddddddddddd", Name: "b", Recipients: []string{"opj@nokey.example"}, Created: time.Now(),
			LinkSecret: secret, Send: &spooler.SendOptions{Mode: spooler.ModeLink}},
	} {
		var sealed bytes.Buffer
		sw, err := w.stages.Seal(ctx, job, &sealed)
		if err != nil {
			t.Fatal(err)
		}
		sw.Write([]byte("%PDF-1.7 archived"))
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(sealed.Bytes())
		drop, err := w.stages.Deliver(ctx, spooler.Delivery{JobID: job.ID, Size: int64(sealed.Len()), SHA256: hex.EncodeToString(sum[:]),
			Recipients: job.Recipients, Options: job.SendOptionsOf()}, bytes.NewReader(sealed.Bytes()))
		if err != nil {
			t.Fatalf("job %d: the relay refused the archived document: %v", i, err)
		}
		var blob, got bytes.Buffer
		if _, err := w.client.Download(ctx, drop.ID, "", &blob); err != nil {
			t.Fatal(err)
		}
		if _, err := envelope.Open(&blob, &got, envelope.OpenOptions{Keys: []*envelope.Key{archive}, Verifiers: []*envelope.Key{w.sender.Public()}}); err != nil {
			t.Fatalf("job %d: the archive key does not open it: %v", i, err)
		}
	}
}
