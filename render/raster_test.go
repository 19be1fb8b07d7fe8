package render

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// TestRasterGolden renders the test pages with ghostscript's PWG and
// Apple raster devices in every colour space and depth clients send,
// converts them, and checks with poppler that the PDF has the right pages
// and page size and that its pixels match ghostscript's own rendering.
func TestRasterGolden(t *testing.T) {
	// At 72 dpi one pixel is one point: ghostscript's raster and PNM devices
	// then rasterise the page identically, so the reference is exact.
	const dpi = 72
	cases := []struct {
		name, device, format string
		opts                 []string
		gray, pixels         bool
		ref                  string // reference device, if not ppmraw/pgmraw
	}{
		{"pwg-srgb8", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=19", "-dcupsBitsPerColor=8"}, false, true, ""},
		{"pwg-srgb16", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=19", "-dcupsBitsPerColor=16"}, false, true, ""},
		{"pwg-sgray8", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=18", "-dcupsBitsPerColor=8"}, true, true, ""},
		{"pwg-sgray16", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=18", "-dcupsBitsPerColor=16"}, true, true, ""},
		{"pwg-black1", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=3", "-dcupsBitsPerColor=1"}, true, true, "pbmraw"},
		{"pwg-cmyk8", "pwgraster", FormatPWG, []string{"-dcupsColorSpace=6", "-dcupsBitsPerColor=8"}, false, false, "cmyk"},
		{"urf-sgray8", "urf", FormatURF, []string{"-dcupsColorSpace=18", "-dcupsBitsPerColor=8"}, true, true, ""},
		{"urf-srgb8", "urf", FormatURF, []string{"-dcupsColorSpace=19", "-dcupsBitsPerColor=8"}, false, true, ""},
		{"urf-black1", "urf", FormatURF, nil, true, true, "pbmraw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := append([]string{fmt.Sprintf("-r%d", dpi)}, c.opts...)
			in := ghostscript(t, testPS, c.device, "in.raster", opts...)
			pdf, info := renderFile(t, "application/octet-stream", in)
			if info.Format != c.format || info.Pages != 2 {
				t.Fatalf("info = %+v, want format %s, 2 pages", info, c.format)
			}
			pages, size, _ := pdfinfo(t, pdf)
			if pages != 2 {
				t.Fatalf("pdfinfo: %d pages, want 2", pages)
			}
			// A4 is 595×842 pt.
			if math.Abs(size.Width-595) > 1 || math.Abs(size.Height-842) > 1 {
				t.Fatalf("page size %v, want A4", size)
			}
			if c.ref == "cmyk" {
				// Viewers convert DeviceCMYK to RGB each their own way, so
				// there is no exact reference: check colours and polarity.
				got := renderBack(t, pdf, 1, dpi, false)
				at := func(x, y int) []byte { i := (y*got.w + x) * 3; return got.pix[i : i+3] }
				if px := at(125, 167); px[0] < 200 || px[1] > 80 || px[2] > 80 {
					t.Errorf("red box renders as %v", px)
				}
				if px := at(10, 10); px[0] < 250 || px[1] < 250 || px[2] < 250 {
					t.Errorf("paper renders as %v", px)
				}
			}
			if !c.pixels {
				return
			}
			dev, ext := "ppmraw", "ppm"
			if c.gray {
				dev, ext = "pgmraw", "pgm"
			}
			switch c.ref {
			case "pbmraw":
				dev, ext = "pbmraw", "pbm"
			}
			ref := ghostscript(t, testPS, dev, "ref-%d."+ext, fmt.Sprintf("-r%d", dpi))
			for page := 1; page <= 2; page++ {
				want := readPNM(t, filepath.Join(filepath.Dir(ref), fmt.Sprintf("ref-%d.%s", page, ext)))
				got := renderBack(t, pdf, page, dpi, c.gray)
				if p := psnr(t, got, want); p < 40 {
					t.Errorf("page %d: PSNR %.1f dB, want ≥ 40", page, p)
				} else {
					t.Logf("page %d: PSNR %.1f dB", page, p)
				}
			}
		})
	}
}
