package render

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// testPS draws two pages with colour fills, grey steps, lines and text:
// enough structure for a pixel comparison to catch misplaced rows, swapped
// channels or wrong polarity.
const testPS = `%!PS
/Helvetica findfont 28 scalefont setfont
1 0 0 setrgbcolor 50 600 150 150 rectfill
0 0.6 0 setrgbcolor 220 600 150 150 rectfill
0 0 1 setrgbcolor 390 600 150 150 rectfill
0 1 9 { dup 0.1 mul setgray 50 exch 50 mul 100 add 500 40 rectfill } for
0 setgray 60 780 moveto (Sealprint raster test) show
2 setlinewidth 50 50 moveto 545 790 lineto stroke
showpage
0.2 0.4 0.8 setrgbcolor 100 100 395 300 rectfill
0 setgray 100 500 moveto (Page two) show
showpage
`

var testMeta = Meta{
	Title:      "Rapport médico-légal",
	Author:     "Dr Dupont",
	Created:    time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC),
	PageRanges: "1-2",
	Copies:     2,
	Sides:      "two-sided-long-edge",
}

// run runs a command and fails the test with its output on error.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// ghostscript renders the test PostScript with the given device and
// options into a file and returns its path.
func ghostscript(t testing.TB, ps, device, out string, opts ...string) string {
	t.Helper()
	gs := testutil.NeedTool(t, "gs")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ps")
	if err := os.WriteFile(in, []byte(ps), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, out)
	args := append([]string{"-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sPAPERSIZE=a4", "-sDEVICE=" + device,
		"-sOutputFile=" + path}, opts...)
	run(t, gs, append(args, in)...)
	return path
}

// renderFile runs ToPDF on a file and writes the result next to it.
func renderFile(t testing.TB, format, path string) (string, Info) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	info, err := ToPDF(context.Background(), format, bufio.NewReader(f), &out, testMeta)
	if err != nil {
		t.Fatalf("ToPDF(%s): %v", filepath.Base(path), err)
	}
	pdf := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(pdf, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return pdf, info
}

var (
	pagesRe    = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
	pageSizeRe = regexp.MustCompile(`(?m)^Page size:\s+([\d.]+) x ([\d.]+) pts`)
)

// pdfinfo checks that poppler opens pdf and returns its page count and
// first page size, plus the raw output.
func pdfinfo(t testing.TB, pdf string, extra ...string) (int, PageSize, string) {
	t.Helper()
	out := string(run(t, testutil.NeedTool(t, "pdfinfo"), append(extra, pdf)...))
	m := pagesRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page count in\n%s", out)
	}
	pages, _ := strconv.Atoi(m[1])
	var size PageSize
	if m := pageSizeRe.FindStringSubmatch(out); m != nil {
		size.Width, _ = strconv.ParseFloat(m[1], 64)
		size.Height, _ = strconv.ParseFloat(m[2], 64)
	}
	return pages, size, out
}

// pnm is a decoded PPM (3 channels) or PGM (1 channel) image.
type pnm struct {
	w, h, ch int
	pix      []byte
}

func readPNM(t testing.TB, path string) pnm {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Header: magic, width, height, maxval, separated by whitespace and
	// comments, then one whitespace byte.
	var fields []string
	i := 0
	want := 4
	for len(fields) < want && i < len(data) {
		switch c := data[i]; {
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			j := i
			for j < len(data) && !bytes.ContainsRune([]byte(" \t\r\n"), rune(data[j])) {
				j++
			}
			fields = append(fields, string(data[i:j]))
			i = j
			if fields[0] == "P4" {
				want = 3 // bitmaps have no maxval
			}
		}
	}
	if len(fields) < want {
		t.Fatalf("%s: bad header", path)
	}
	if want == 3 {
		fields = append(fields, "1")
	}
	magic := fields[0]
	w, _ := strconv.Atoi(fields[1])
	h, _ := strconv.Atoi(fields[2])
	maxv, _ := strconv.Atoi(fields[3])
	pix := data[min(i+1, len(data)):]
	if magic == "P4" { // bitmap, 1 = black: expand to grey
		pix := data[min(i+1, len(data)):]
		stride := (w + 7) / 8
		if len(pix) < stride*h {
			t.Fatalf("%s: short pixel data", path)
		}
		g := make([]byte, 0, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := byte(255)
				if pix[y*stride+x/8]&(0x80>>(x%8)) != 0 {
					v = 0
				}
				g = append(g, v)
			}
		}
		return pnm{w, h, 1, g}
	}
	ch := map[string]int{"P6": 3, "P5": 1}[magic]
	if ch == 0 || maxv != 255 {
		t.Fatalf("%s: unsupported %s maxval %d", path, magic, maxv)
	}
	if len(pix) < w*h*ch {
		t.Fatalf("%s: short pixel data", path)
	}
	return pnm{w, h, ch, pix[:w*h*ch]}
}

// psnr compares two images of the same size, in dB (+Inf when equal).
func psnr(t testing.TB, a, b pnm) float64 {
	t.Helper()
	if a.w != b.w || a.h != b.h || a.ch != b.ch {
		t.Fatalf("image sizes differ: %dx%dx%d vs %dx%dx%d", a.w, a.h, a.ch, b.w, b.h, b.ch)
	}
	var se float64
	for i := range a.pix {
		d := float64(a.pix[i]) - float64(b.pix[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	mse := se / float64(len(a.pix))
	return 10 * math.Log10(255*255/mse)
}

// renderBack renders page (1-based) of pdf at dpi with poppler, in grey
// when gray is set, and returns the image. It uses pdftocairo rather than
// pdftoppm: pdftoppm's Splash backend resamples images drawn at exactly one
// device pixel per image pixel and blends their edges (about 22 dB against
// the image's own pixels, for this package's output and for ghostscript's
// alike), while pdftocairo draws them exactly.
func renderBack(t testing.TB, pdf string, page, dpi int, gray bool) pnm {
	t.Helper()
	tool := testutil.NeedTool(t, "pdftocairo")
	prefix := filepath.Join(t.TempDir(), "p")
	args := []string{"-png", "-r", strconv.Itoa(dpi), "-f", strconv.Itoa(page), "-l", strconv.Itoa(page), "-singlefile"}
	if gray {
		args = append(args, "-gray")
	}
	run(t, tool, append(args, pdf, prefix)...)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return toPNM(m, gray)
}

// toPNM converts an image to 8-bit grey or RGB samples.
func toPNM(m image.Image, gray bool) pnm {
	b := m.Bounds()
	p := pnm{w: b.Dx(), h: b.Dy(), ch: 3}
	if gray {
		p.ch = 1
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := m.At(x, y).RGBA()
			if gray {
				p.pix = append(p.pix, uint8(r>>8))
			} else {
				p.pix = append(p.pix, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			}
		}
	}
	return p
}
