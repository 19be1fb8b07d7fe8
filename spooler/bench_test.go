package spooler

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkAccept measures durable acceptance of 1 MiB documents by 8
// concurrent clients (encrypt + fsync + record + group-committed rename).
func BenchmarkAccept(b *testing.B) {
	sp, err := Open(Options{Dir: b.TempDir(), Key: bytes.Repeat([]byte{7}, 32),
		Renderer: &fakeRenderer{}, Sealer: xorSealer{}, Deliverer: newFakeRelay(),
		MaxJobs: 1 << 30, MaxBytes: 1 << 50, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	d := bytes.Repeat([]byte("%PDF-1.7 benchmark "), (1<<20)/19)
	b.SetBytes(int64(len(d)))
	b.SetParallelism(4) // × GOMAXPROCS(2) = 8 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sp.Accept(context.Background(), Incoming{Queue: "sealed"}, bytes.NewReader(d)); err != nil {
				b.Error(err)
			}
		}
	})
}
