package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// formPDF builds a one-page PDF with an AcroForm text field, computing its
// cross-reference table.
func formPDF() []byte {
	objs := []string{
		"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]/DA(/Helv 0 Tf 0 g)/DR<</Font<</Helv 5 0 R>>>>>>>>",
		"<</Type/Pages/Count 1/Kids[3 0 R]>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Annots[4 0 R]/Resources<<>>>>",
		"<</Type/Annot/Subtype/Widget/FT/Tx/T(name)/V(Jean Martin)/Rect[100 600 400 630]/F 4/P 3 0 R/DA(/Helv 12 Tf 0 g)>>",
		"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.6\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// breakXRef shifts every offset in a PDF's classic xref table so that none
// points at its object, as damaged files in the wild do; poppler still
// opens such files by scanning for objects.
func breakXRef(t *testing.T, pdf []byte) []byte {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(\d{10}) (\d{5}) n`)
	n := 0
	out := re.ReplaceAllFunc(pdf, func(m []byte) []byte {
		n++
		var off int
		fmt.Sscanf(string(m[:10]), "%d", &off)
		return []byte(fmt.Sprintf("%010d%s", off+7, m[10:]))
	})
	if n == 0 {
		t.Fatal("no classic xref entries to break")
	}
	return out
}

func TestPDFPassThrough(t *testing.T) {
	dir := t.TempDir()
	ps := filepath.Join(dir, "in.ps")
	if err := os.WriteFile(ps, []byte(testPS), 0o600); err != nil {
		t.Fatal(err)
	}
	gsPDF := func(level string) []byte {
		p := ghostscript(t, testPS, "pdfwrite", "out.pdf", "-dCompatibilityLevel="+level)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gs14 := gsPDF("1.4")
	cases := []struct {
		name   string
		pdf    func() []byte
		pages  int
		intact bool // the original bytes must be a prefix of the output
	}{
		{"gs-1.4", func() []byte { return gs14 }, 2, true},
		{"gs-1.5", func() []byte { return gsPDF("1.5") }, 2, true},
		{"gs-1.7", func() []byte { return gsPDF("1.7") }, 2, true},
		{"gs-2.0", func() []byte { return gsPDF("2.0") }, 2, true},
		{"cairo", func() []byte {
			out := filepath.Join(t.TempDir(), "cairo.pdf")
			in := filepath.Join(t.TempDir(), "in.pdf")
			os.WriteFile(in, gs14, 0o600)
			run(t, "pdftocairo", "-pdf", in, out)
			b, _ := os.ReadFile(out)
			return b
		}, 2, true},
		{"sealprint-text", func() []byte {
			var b bytes.Buffer
			if _, err := ToPDF(context.Background(), FormatText, strings.NewReader("hello\n"), &b, Meta{}); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}, 1, true},
		{"pdfcpu-objstm", func() []byte {
			// pdfcpu writes object streams and an xref stream.
			conf := pdfConfig()
			conf.WriteObjectStream, conf.WriteXRefStream = true, true
			ctx, err := api.ReadContext(bytes.NewReader(gs14), conf)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := api.WriteContext(ctx, &b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b.Bytes(), []byte("/ObjStm")) {
				t.Fatal("no object stream in pdfcpu output")
			}
			return b.Bytes()
		}, 2, true},
		{"form", formPDF, 1, true},
		{"broken-xref", func() []byte { return breakXRef(t, gs14) }, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.pdf()
			src := filepath.Join(t.TempDir(), "in.pdf")
			os.WriteFile(src, in, 0o600)
			if c.name == "broken-xref" {
				// The damage is real: poppler has to reconstruct, yet opens it.
				if pages, _, _ := pdfinfo(t, src); pages != c.pages {
					t.Fatalf("poppler reads %d pages of the damaged input", pages)
				}
			}
			// Not an io.ReadSeeker: exercises the in-memory path.
			var out bytes.Buffer
			info, err := ToPDF(context.Background(), "application/octet-stream", io.MultiReader(bytes.NewReader(in)), &out, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != FormatPDF || info.Pages != c.pages || len(info.PageSizes) != c.pages {
				t.Fatalf("info = %+v, want %d pages", info, c.pages)
			}
			if c.intact && !bytes.HasPrefix(out.Bytes(), in) {
				t.Fatal("original bytes not kept")
			}
			// Same result from a seekable reader.
			var out2 bytes.Buffer
			if _, err := ToPDF(context.Background(), FormatPDF, bytes.NewReader(in), &out2, testMeta); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), out2.Bytes()) {
				t.Fatal("seekable and streaming input give different output")
			}
			pdf := filepath.Join(t.TempDir(), "out.pdf")
			os.WriteFile(pdf, out.Bytes(), 0o600)
			pages, _, _ := pdfinfo(t, pdf)
			meta := string(run(t, "pdfinfo", "-custom", pdf))
			if pages != c.pages {
				t.Fatalf("pdfinfo: %d pages, want %d", pages, c.pages)
			}
			for _, want := range []string{
				"Title:           Rapport médico-légal",
				"Author:          Dr Dupont",
				"Creator:         sealprint",
				"SealprintCopies: 2",
				"SealprintSides:  two-sided-long-edge",
				"SealprintPageRanges:1-2",
			} {
				if !strings.Contains(meta, want) {
					t.Errorf("pdfinfo lacks %q:\n%s", want, meta)
				}
			}
			if !strings.Contains(meta, "CreationDate:") || !strings.Contains(meta, "2026") {
				t.Errorf("no creation date:\n%s", meta)
			}
			// pdfcpu itself reads the result back.
			if _, err := readPDF(bytes.NewReader(out.Bytes())); err != nil {
				t.Errorf("output does not validate: %v", err)
			}
			// Form fields survive.
			if c.name == "form" && !bytes.Contains(out.Bytes(), []byte("/AcroForm")) {
				t.Error("form lost")
			}
		})
	}
}

func TestPDFRejectsGarbage(t *testing.T) {
	for name, in := range map[string]string{
		"header-only": "%PDF-1.7\n",
		"truncated":   "%PDF-1.4\n1 0 obj\n<</Type/Catalog/Pages 2 0 R",
		"no-pages":    string(formPDF()[:200]),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ToPDF(context.Background(), FormatPDF, strings.NewReader(in), io.Discard, testMeta)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FormatError", err)
			}
		})
	}
}

func TestPDFSizeLimit(t *testing.T) {
	var r Renderer
	r.Limits.MaxPDFBytes = 100
	_, err := r.ToPDF(context.Background(), FormatPDF, strings.NewReader(string(formPDF())), io.Discard, testMeta)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "bytes" {
		t.Fatalf("err = %v, want byte limit", err)
	}
}

func TestPDFEncryptedPassesUnchanged(t *testing.T) {
	disableConfigDir.Do(api.DisableConfigDir)
	conf := model.NewAESConfiguration("", "owner-secret", 256)
	var enc bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(formPDF()), &enc, conf); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	info, err := ToPDF(context.Background(), FormatPDF, bytes.NewReader(enc.Bytes()), &out, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Encrypted || info.Pages != 1 {
		t.Fatalf("info = %+v", info)
	}
	if !bytes.Equal(out.Bytes(), enc.Bytes()) {
		t.Fatal("encrypted PDF changed")
	}
}
