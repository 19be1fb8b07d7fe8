package spooler

import (
	"context"
	"io"
	"testing"
	"time"
)

// keyedSealer seals as xorSealer and states the keys it sealed to.
type keyedSealer struct{ xorSealer }

type keyedWriter struct{ *xorWriter }

func (keyedWriter) SealedKeys() []SealedKey {
	return []SealedKey{{Fingerprint: "FA", EncryptionKey: "EA", Address: "martin@police.example"},
		{Fingerprint: "FB", EncryptionKey: "EB", Address: "blanc@police.example"}}
}

func (k keyedSealer) Seal(ctx context.Context, job *Job, dst io.Writer) (io.WriteCloser, error) {
	w, err := k.xorSealer.Seal(ctx, job, dst)
	if err != nil {
		return nil, err
	}
	return keyedWriter{w.(*xorWriter)}, nil
}

// A receipt whose HMAC and recipient signature both check out names the
// recipient who opened the job; a bad signature, or a signer the job was
// not sealed to, counts as an unsigned receipt: opened, by someone.
func TestSignedReceiptsNameTheRecipient(t *testing.T) {
	var checked []string
	h := newHarness(t, func(o *Options) {
		o.Sealer = keyedSealer{}
		o.CheckSignedReceipt = func(drop, sum string, r SignedReceipt) bool {
			checked = append(checked, r.Signer)
			return drop != "" && len(sum) == 64 && r.Signature == "sig-by-"+r.Signer
		}
	})
	h.start()
	id := h.accept("sealed", "rapport", doc(300, "r"))
	h.waitState(id, Held)
	if _, err := h.sp.Release(context.Background(), id, []string{"martin@police.example", "blanc@police.example"}); err != nil {
		t.Fatal(err)
	}
	j := h.waitState(id, Uploaded)
	if len(j.SealedKeys) != 2 || j.SealedKeys[1].Address != "blanc@police.example" {
		t.Fatalf("sealed keys kept %+v", j.SealedKeys)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := h.relay.drop(id)
	h.relay.mu.Lock()
	d.downloads = 3
	d.receipts = []string{"good", "good", "good", "forged"}
	d.signed = []SignedReceipt{
		{Signer: "FA", Signature: "sig-by-FA", SignedAt: at}, // Martin's key
		{Signer: "FB", Signature: "sig-by-FA", SignedAt: at}, // a signature that does not verify
		{Signer: "FC", Signature: "sig-by-FC", SignedAt: at}, // not a key the job was sealed to
		{Signer: "FB", Signature: "sig-by-FB", SignedAt: at}, // HMAC forged: not a receipt
	}
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("the receipts counted", func() bool {
		j, _ = h.sp.Get(id)
		return j.Receipts == 3
	})
	if _, ok := j.OpenedBy["martin@police.example"]; !ok || len(j.OpenedBy) != 1 {
		t.Fatalf("opened by %v, want Martin", j.OpenedBy)
	}
	if j.UnsignedReceipts != 2 {
		t.Fatalf("unsigned receipts %d, want 2 (bad signature, foreign signer)", j.UnsignedReceipts)
	}
	for _, s := range checked {
		if s == "FC" {
			t.Fatal("a signature by a key the job was not sealed to was checked")
		}
	}
	// The delivered job is still followed until each recipient's signed
	// receipt is in: Blanc opens it later.
	h.relay.mu.Lock()
	d.receipts = append(d.receipts, "good")
	d.signed = append(d.signed, SignedReceipt{Signer: "FB", Signature: "sig-by-FB", SignedAt: at})
	h.relay.mu.Unlock()
	h.clock.Advance(2 * time.Minute)
	h.waitFor("Blanc's receipt", func() bool {
		j, _ = h.sp.Get(id)
		_, ok := j.OpenedBy["blanc@police.example"]
		return ok
	})
	if j.State != Delivered || len(j.OpenedBy) != 2 {
		t.Fatalf("after both receipts: %s %v", j.State, j.OpenedBy)
	}
}
