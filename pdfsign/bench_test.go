package pdfsign

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// benchPDF is the PDF the benchmarks sign: $PDFSIGN_BENCH_PDF (bench/
// pdfsign.sh passes a 10-page report) or a one-page document.
func benchPDF(b *testing.B) []byte {
	if p := os.Getenv("PDFSIGN_BENCH_PDF"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	return minimalPDF("benchmark")
}

// BenchmarkSign measures one PAdES B-B signature in process (RSA 2048 key
// in memory): the cost a job pays once the key is open.
func BenchmarkSign(b *testing.B) {
	ca := testutil.NewCA(b, "Bench CA")
	id := newRSAIdentity(b, ca, "Dr Bench")
	pdf := benchPDF(b)
	b.SetBytes(int64(len(pdf)))
	for b.Loop() {
		if _, err := Sign(b.Context(), io.Discard, bytes.NewReader(pdf), id, Options{Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures checking that signature.
func BenchmarkVerify(b *testing.B) {
	ca := testutil.NewCA(b, "Bench CA")
	id := newRSAIdentity(b, ca, "Dr Bench")
	signed := signBytes(b, benchPDF(b), id, Options{})
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		rep, err := Verify(bytes.NewReader(signed), int64(len(signed)), VerifyOptions{Roots: ca.Pool()})
		if err != nil || !rep.Valid() {
			b.Fatal(err)
		}
	}
}
