package envelope

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkLinkPerRecipient compares two ways to give each of n link-mode
// recipients a secret of its own (so that a receipt can say who opened):
// one drop per recipient (n signed messages of the whole document), or one
// message with n SKESK packets, one per secret, around one session key.
// Run: go test ./envelope -run '^$' -bench LinkPerRecipient -benchtime 5x
func BenchmarkLinkPerRecipient(b *testing.B) {
	sender := mustKey(b, "A", "a@example.org", nil)
	doc := make([]byte, 8<<20) // an 8 MiB report
	for _, n := range []int{1, 3, 5} {
		secrets := make([]string, n)
		for i := range secrets {
			secrets[i], _ = NewLinkSecret()
		}
		b.Run(fmt.Sprintf("drops=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for i := 0; i < b.N; i++ {
				for _, s := range secrets {
					w, err := Seal(io.Discard, SealOptions{Signer: sender, Secret: s})
					if err != nil {
						b.Fatal(err)
					}
					w.Write(doc)
					w.Close()
				}
			}
		})
		b.Run(fmt.Sprintf("skesk=%d", n), func(b *testing.B) {
			// One sealed message with one SKESK packet per secret around
			// its session key (each checked against the other secrets).
			b.SetBytes(int64(len(doc)))
			for i := 0; i < b.N; i++ {
				w, err := Seal(io.Discard, SealOptions{Signer: sender, Secrets: secrets})
				if err != nil {
					b.Fatal(err)
				}
				w.Write(doc)
				w.Close()
			}
		})
	}
}
