package deliver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/spooler"
)

// A link-mode job whose code goes by SMS: delivering it (twice, as after
// a crash) makes the relay send exactly one SMS with the code and the
// number, and the drop records the channel.
func TestCodeBySMSThroughTheRelay(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer gw.Close()
	w := newWorld(t, func(c *relay.Config) {
		c.SMS = &relay.SMSGateway{URL: gw.URL, Body: `{"to":"{to}","text":"{code}"}`}
	})
	ctx := context.Background()
	secret, _ := envelope.NewLinkSecret()
	job := &spooler.Job{ID: "job-eeeeeeeeeeeeeeeeeeeeeeeeee", Name: "r", Recipients: []string{"opj@nokey.example"}, Created: time.Now(),
		LinkSecret: secret, AccessCode: "55501234",
		Send: &spooler.SendOptions{Mode: spooler.ModeLink, Code: true, CodeTo: "sms:+33612345678"}}
	var sealed bytes.Buffer
	sw, err := w.stages.Seal(ctx, job, &sealed)
	if err != nil {
		t.Fatal(err)
	}
	sw.Write([]byte("%PDF-1.7"))
	sw.Close()
	sum := sha256.Sum256(sealed.Bytes())
	d := spooler.Delivery{JobID: job.ID, Size: int64(sealed.Len()), SHA256: hex.EncodeToString(sum[:]),
		Recipients: job.Recipients, Options: job.SendOptionsOf(), AccessCode: job.AccessCode}
	drop, err := w.stages.Deliver(ctx, d, bytes.NewReader(sealed.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(drop.CodeSentVia, "sms:+33") || strings.Contains(drop.CodeSentVia, "612345") {
		t.Fatalf("channel %q", drop.CodeSentVia)
	}
	if len(bodies) != 1 || !strings.Contains(bodies[0], "55501234") || !strings.Contains(bodies[0], "+33612345678") {
		t.Fatalf("gateway got %q", bodies)
	}
	// Delivering again (a crash before the job was recorded uploaded)
	// reuses the drop and does not send the code again.
	again, err := w.stages.Deliver(ctx, d, bytes.NewReader(sealed.Bytes()))
	if err != nil || again.ID != drop.ID || again.CodeSentVia != "sms" || len(bodies) != 1 {
		t.Fatalf("%+v %v, gateway got %d requests", again, err, len(bodies))
	}
}
