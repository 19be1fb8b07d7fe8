package render

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep each fuzz input cheap (instrumented Flate and pdfcpu are
// slow) while still exercising the checks.
var fuzzLimits = Limits{
	MaxWidth: 128, MaxHeight: 128, MaxPixels: 1 << 14, MaxPages: 4,
	MaxPDFBytes: 64 << 10, MaxImage: 64 << 10, MaxLine: 128 * 8,
}

// addSeeds adds every testdata file with the extension, and truncations of
// each, to the corpus.
func addSeeds(f *testing.F, ext string, extra ...[]byte) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		extra = append(extra, b)
	}
	for _, b := range extra {
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:min(len(b), 40)])
	}
}

// fuzzRender runs one input and checks the invariants: no panic, a typed
// error or a PDF that pdfcpu reads with the reported page count.
func fuzzRender(t *testing.T, format string, data []byte) {
	r := Renderer{Limits: fuzzLimits}
	var out bytes.Buffer
	info, err := r.ToPDF(context.Background(), format, bytes.NewReader(data), &out, testMeta)
	if err != nil {
		var fe *FormatError
		var le *LimitError
		if !errors.As(err, &fe) && !errors.As(err, &le) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("untyped error: %v", err)
		}
		return
	}
	if info.Pages < 1 || info.Pages > fuzzLimits.MaxPages {
		t.Fatalf("%d pages", info.Pages)
	}
	if format == FormatPDF {
		// Garbage that pdfcpu's relaxed reader accepts one way may read
		// another way once updated; valid input is covered by the tests.
		return
	}
	doc, err := readPDF(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("output unreadable: %v", err)
	}
	if doc.ctx.PageCount != info.Pages {
		t.Fatalf("output has %d pages, Info says %d", doc.ctx.PageCount, info.Pages)
	}
}

func FuzzPWG(f *testing.F) {
	addSeeds(f, ".pwg", testRaster(FormatPWG, 2, 20, 10))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRender(t, FormatPWG, data) })
}

func FuzzURF(f *testing.F) {
	addSeeds(f, ".urf", testRaster(FormatURF, 2, 20, 10))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRender(t, FormatURF, data) })
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "hello\n", "\ufeffÉté\r\n\tx\f\fy", "Cr\xe9teil", string(bytes.Repeat([]byte("ab\t"), 100)), "\x00\x01\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRender(t, FormatText, data) })
}

// FuzzSniff checks that sniffing never panics and that whatever it
// detects, ToPDF handles without an untyped error.
func FuzzSniff(f *testing.F) {
	addSeeds(f, ".pwg")
	addSeeds(f, ".urf")
	f.Add([]byte("%PDF-1.4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if Sniff(data) == FormatPDF {
			return // PDF parsing is pdfcpu's; its fuzzing is upstream
		}
		fuzzRender(t, "", data)
	})
}

// FuzzPDF covers what render adds around pdfcpu: the object table check,
// the xref repair and the incremental update.
func FuzzPDF(f *testing.F) {
	form := formPDF()
	f.Add(form)
	f.Add(bytes.Replace(form, []byte("0000000009"), []byte("0000000019"), 1))
	f.Add(form[:len(form)-30])
	var text bytes.Buffer
	if _, err := ToPDF(context.Background(), FormatText, bytes.NewReader([]byte("x\n")), &text, Meta{}); err != nil {
		f.Fatal(err)
	}
	f.Add(text.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRender(t, FormatPDF, data) })
}

// FuzzImage covers the JPEG and PNG paths: header parsing, resolution
// chunks, the end-marker scan and the pixel conversion.
func FuzzImage(f *testing.F) {
	m := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	m.Set(1, 1, color.NRGBA{10, 20, 30, 128})
	var p, j bytes.Buffer
	png.Encode(&p, m)
	jpeg.Encode(&j, m, nil)
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		if f := Sniff(data); f == FormatJPEG || f == FormatPNG {
			fuzzRender(t, f, data)
		}
	})
}
