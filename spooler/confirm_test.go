package spooler

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// confirmSealer refuses to seal until confirmed, as the delivery stages do
// for a recipient key seen for the first time.
type confirmSealer struct{ confirmed atomic.Bool }

func (c *confirmSealer) Seal(ctx context.Context, job *Job, dst io.Writer) (io.WriteCloser, error) {
	if !c.confirmed.Load() {
		return nil, NeedsConfirmation(errors.New("new key not confirmed: martin@police.example is written to for the first time; its key ABCD comes from the relay's directory only"))
	}
	return xorSealer{}.Seal(ctx, job, dst)
}

// A printed job to a recipient whose key nobody confirmed is held with the
// fingerprint, not failed and not sealed; once confirmed, releasing it
// delivers it.
func TestJobHeldUntilRecipientKeyConfirmed(t *testing.T) {
	cs := &confirmSealer{}
	h := newHarness(t, func(o *Options) { o.Sealer = cs })
	h.start()
	id := h.accept("martin", "report", doc(500, "c"))
	j := h.waitState(id, Held)
	if !strings.Contains(j.StatusMessage(), "ABCD") || !strings.Contains(j.StatusMessage(), "release") || j.Permanent {
		t.Fatalf("held job: %q %+v", j.StatusMessage(), j)
	}
	if h.relay.creates != 0 {
		t.Fatal("a drop was created for an unconfirmed key")
	}
	cs.confirmed.Store(true)
	if _, err := h.sp.Release(context.Background(), id, j.Recipients); err != nil {
		t.Fatal(err)
	}
	if j := h.waitState(id, Uploaded); j.Error != "" {
		t.Fatalf("released job: %+v", j)
	}
}
