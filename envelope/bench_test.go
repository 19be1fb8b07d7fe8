package envelope

import (
	"io"
	"testing"
)

func BenchmarkSeal(b *testing.B) {
	sender := mustKey(b, "A", "a@example.org", nil)
	bob := mustKey(b, "B", "b@example.org", nil)
	buf := make([]byte, 1<<20)
	b.SetBytes(64 << 20)
	for i := 0; i < b.N; i++ {
		w, err := Seal(io.Discard, SealOptions{Signer: sender, Recipients: []*Key{bob}})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 64; j++ {
			w.Write(buf)
		}
		w.Close()
	}
}
