package render

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/sealprint/sealprint/internal/testutil"
)

// Text documents are PDF/A-2b: every font embedded (a subset), the
// characters beyond WinAnsi kept, XMP metadata matching the information
// dictionary, an sRGB output intent. veraPDF is not available here, so
// what it alone checks (the whole ISO 19005-2 rule set) is not covered.
func TestTextIsPDFA(t *testing.T) {
	in := "Rapport ✓ œuvre € « guillemets » Łódź Ğ ŉ ſ – fin\nligne 2\n"
	var out bytes.Buffer
	info, err := ToPDF(context.Background(), "text/plain; charset=utf-8", strings.NewReader(in), &out, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if !info.PDFA {
		t.Fatal("text rendering not marked PDF/A")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "t.pdf")
	os.WriteFile(path, out.Bytes(), 0o600)

	fonts := string(run(t, testutil.NeedTool(t, "pdffonts"), path))
	lines := strings.Split(strings.TrimSpace(fonts), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no font:\n%s", fonts)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		// name type... encoding emb sub uni object ID
		if len(f) < 7 || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
			t.Errorf("font not embedded as a subset with ToUnicode: %q", l)
		}
	}
	if !strings.Contains(fonts, "+DejaVuSansMono") || !strings.Contains(fonts, "CID TrueType") {
		t.Errorf("pdffonts:\n%s", fonts)
	}

	text := pdftotext(t, out.Bytes())
	for _, w := range []string{"✓", "œuvre", "€", "« guillemets »", "Łódź", "Ğ", "ligne 2"} {
		if !strings.Contains(text, w) {
			t.Errorf("pdftotext lost %q:\n%s", w, text)
		}
	}

	// The metadata: information dictionary and XMP agree.
	_, _, pi := pdfinfo(t, path)
	pi = strings.Join(strings.Fields(pi), " ")
	for _, w := range []string{"Title: Rapport médico-légal", "Author: Dr Dupont", "CreationDate: Mon Nov 23 10:30:00 2026 UTC", "Creator: sealprint", "Metadata Stream: yes"} {
		if !strings.Contains(pi, w) {
			t.Errorf("pdfinfo lacks %q:\n%s", w, pi)
		}
	}
	meta := string(run(t, testutil.NeedTool(t, "pdfinfo"), "-meta", path))
	for _, w := range []string{"<pdfaid:part>2</pdfaid:part>", "<pdfaid:conformance>B</pdfaid:conformance>",
		"Rapport médico-légal</rdf:li>", "<rdf:li>Dr Dupont</rdf:li>", "<xmp:CreateDate>2026-11-23T10:30:00Z</xmp:CreateDate>"} {
		if !strings.Contains(meta, w) {
			t.Errorf("XMP lacks %q:\n%s", w, meta)
		}
	}
	if !bytes.Contains(out.Bytes(), []byte("/OutputIntents[<</Type/OutputIntent/S/GTS_PDFA1/OutputConditionIdentifier(sRGB IEC61966-2.1)")) {
		t.Error("no sRGB output intent")
	}

	// qpdf and pdfcpu find the structure sound.
	if q, err := exec.Command(testutil.NeedTool(t, "qpdf"), "--check", path).CombinedOutput(); err != nil || !strings.Contains(string(q), "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check: %v\n%s", err, q)
	}
	api.DisableConfigDir()
	if err := api.Validate(bytes.NewReader(out.Bytes()), pdfConfig()); err != nil {
		t.Errorf("pdfcpu: %v", err)
	}
	// Ghostscript renders it without complaint (the subset font loads).
	if g, err := exec.Command(testutil.NeedTool(t, "gs"), "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite", "-sOutputFile=-", path).CombinedOutput(); err != nil ||
		!strings.Contains(string(g), "guillemets") || strings.Contains(strings.ToLower(string(g)), "error") {
		t.Errorf("ghostscript: %v\n%s", err, g)
	}
}

// The subset is much smaller than the font and keeps glyph numbers.
func TestFontSubset(t *testing.T) {
	fu, err := newFontUse()
	if err != nil {
		t.Fatal(err)
	}
	a, e := fu.glyph('a'), fu.glyph('é')
	sub := fu.ttf.subset(fu.used)
	if len(sub) > len(monoFont)/4 {
		t.Fatalf("subset of %d bytes from a %d-byte font", len(sub), len(monoFont))
	}
	st, err := parseTrueType(sub)
	if err != nil {
		t.Fatal(err)
	}
	if st.numGlyphs != fu.ttf.numGlyphs || len(st.glyph(int(a))) == 0 || len(st.glyph(int(e))) == 0 {
		t.Fatal("subset lost used glyphs")
	}
	if z := fu.glyph('z'); len(st.glyph(int(z))) != 0 {
		t.Fatal("subset kept an unused glyph")
	}
	// Composite glyphs bring their components.
	for _, c := range components(fu.ttf.glyph(int(e))) {
		if len(st.glyph(c)) == 0 {
			t.Fatalf("component %d of é dropped", c)
		}
	}
	if fu.glyph('日') != monoQuest {
		t.Fatal("a character the font lacks is not shown as '?'")
	}
}

// Image pages get the same XMP and output intent, except with CMYK
// images, which an sRGB intent does not allow: those stay "unknown".
func TestImagesPDFA(t *testing.T) {
	var pngIn, jpegIn bytes.Buffer
	png.Encode(&pngIn, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	jpeg.Encode(&jpegIn, image.NewGray(image.Rect(0, 0, 40, 30)), nil)
	srgb, _ := os.ReadFile("testdata/srgb8.pwg")
	cmyk, _ := os.ReadFile("testdata/cmyk8.pwg")
	for _, c := range []struct {
		name, format string
		in           []byte
		want         bool
	}{
		{"png-rgb", "image/png", pngIn.Bytes(), true},
		{"jpeg-gray", "image/jpeg", jpegIn.Bytes(), true},
		{"pwg-srgb", "image/pwg-raster", srgb, true},
		{"pwg-cmyk", "image/pwg-raster", cmyk, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			info, err := ToPDF(context.Background(), c.format, bytes.NewReader(c.in), &out, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			hasXMP := bytes.Contains(out.Bytes(), []byte("<pdfaid:part>2</pdfaid:part>"))
			hasIntent := bytes.Contains(out.Bytes(), []byte("/OutputIntents["))
			if info.PDFA != c.want || hasXMP != c.want || hasIntent != c.want {
				t.Fatalf("PDFA %v, XMP %v, intent %v; want %v", info.PDFA, hasXMP, hasIntent, c.want)
			}
			if err := api.Validate(bytes.NewReader(out.Bytes()), pdfConfig()); err != nil {
				t.Errorf("pdfcpu: %v", err)
			}
		})
	}
	// PDF input passes through: unknown.
	var in, out bytes.Buffer
	if _, err := ToPDF(context.Background(), "text/plain", strings.NewReader("x"), &in, testMeta); err != nil {
		t.Fatal(err)
	}
	info, err := ToPDF(context.Background(), "application/pdf", &in, &out, testMeta)
	if err != nil || info.PDFA {
		t.Fatalf("PDF input: PDFA %v, %v", info.PDFA, err)
	}
}
