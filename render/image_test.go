package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJPEGPassThrough(t *testing.T) {
	for _, dev := range []string{"jpeg", "jpeggray"} {
		t.Run(dev, func(t *testing.T) {
			path := ghostscript(t, testPS, dev, "in.jpg", "-r72", "-dLastPage=1")
			jpg, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pdf, info := renderFile(t, "image/jpeg", path)
			if info.Pages != 1 || info.Format != FormatJPEG {
				t.Fatalf("info = %+v", info)
			}
			out, _ := os.ReadFile(pdf)
			if !bytes.Contains(out, jpg) || !bytes.Contains(out, []byte("/DCTDecode")) {
				t.Fatal("JPEG data not embedded unchanged")
			}
			// The same file cut short is refused.
			_, err = ToPDF(context.Background(), FormatJPEG, bytes.NewReader(jpg[:len(jpg)-100]), io.Discard, testMeta)
			if !isTruncated(err) {
				t.Fatalf("truncated JPEG: err = %v", err)
			}
			pages, size, _ := pdfinfo(t, pdf)
			// ghostscript records 72 dpi in JFIF: the page is A4.
			if pages != 1 || math.Abs(size.Width-595) > 1 || math.Abs(size.Height-842) > 1 {
				t.Fatalf("pdfinfo: %d pages of %v", pages, size)
			}
		})
	}
}

func TestPNGLossless(t *testing.T) {
	for _, c := range []struct {
		dev  string
		gray bool
	}{{"png16m", false}, {"pnggray", true}, {"png48", false}} {
		t.Run(c.dev, func(t *testing.T) {
			path := ghostscript(t, testPS, c.dev, "in.png", "-r72", "-dLastPage=1")
			pdf, info := renderFile(t, "", path)
			if info.Pages != 1 || info.Format != FormatPNG {
				t.Fatalf("info = %+v", info)
			}
			pages, size, _ := pdfinfo(t, pdf)
			if pages != 1 || math.Abs(size.Width-595) > 1 || math.Abs(size.Height-842) > 1 {
				t.Fatalf("pdfinfo: %d pages of %v", pages, size)
			}
			f, _ := os.Open(path)
			defer f.Close()
			m, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			want := toPNM(m, c.gray)
			got := renderBack(t, pdf, 1, 72, c.gray)
			if p := psnr(t, got, want); p < 40 {
				t.Errorf("PSNR %.1f dB, want ≥ 40", p)
			} else {
				t.Logf("PSNR %.1f dB", p)
			}
		})
	}
}

func TestPNGAlphaOnWhite(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	m.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	m.Set(1, 0, color.NRGBA{0, 0, 0, 0}) // transparent → white
	var b bytes.Buffer
	png.Encode(&b, m)
	path := filepath.Join(t.TempDir(), "a.png")
	os.WriteFile(path, b.Bytes(), 0o600)
	pdf, _ := renderFile(t, FormatPNG, path)
	got := renderBack(t, pdf, 1, 72, false)
	if got.w != 4 || got.h != 2 {
		t.Fatalf("rendered %dx%d", got.w, got.h)
	}
	if px := got.pix[0:6]; !bytes.Equal(px, []byte{255, 0, 0, 255, 255, 255}) {
		t.Fatalf("pixels %v", px)
	}
}

func TestImageLimits(t *testing.T) {
	// A PNG header claiming 100000×100000 pixels is refused before decoding.
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	data := b.Bytes()
	copy(data[16:], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	_, err := ToPDF(context.Background(), FormatPNG, bytes.NewReader(data), io.Discard, testMeta)
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LimitError", err)
	}
	// A tiny JPEG whose end marker falls within the header read.
	var small bytes.Buffer
	jpeg.Encode(&small, image.NewGray(image.Rect(0, 0, 2, 2)), nil)
	if _, err := ToPDF(context.Background(), FormatJPEG, bytes.NewReader(small.Bytes()), io.Discard, testMeta); err != nil {
		t.Fatalf("small JPEG: %v", err)
	}
	// Truncated JPEG header.
	_, err = ToPDF(context.Background(), FormatJPEG, strings.NewReader("\xff\xd8\xff\xe0\x00\x10JF"), io.Discard, testMeta)
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want truncation *FormatError", err)
	}
}

// TestFastPNGRows checks the direct pixel paths against the generic one.
func TestFastPNGRows(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(0, 0, 64, 3))
	rgba := image.NewRGBA(image.Rect(0, 0, 64, 3))
	gray := image.NewGray(image.Rect(0, 0, 64, 3))
	for x := 0; x < 64; x++ {
		for y := 0; y < 3; y++ {
			c := color.NRGBA{uint8(x * 4), uint8(y * 90), uint8(255 - x), uint8(x*4 + y)}
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			gray.SetGray(x, y, color.Gray{uint8(x*3 + y)})
		}
	}
	for name, m := range map[string]image.Image{"nrgba": nrgba, "rgba": rgba, "gray": gray} {
		ncomp := 3
		if name == "gray" {
			ncomp = 1
		}
		fast := make([]byte, 64*ncomp)
		for y := 0; y < 3; y++ {
			if !fastPNGRow(fast, m, y) {
				t.Fatalf("%s: no fast path", name)
			}
			for x := 0; x < 64; x++ {
				r, g, b, a := m.At(x, y).RGBA()
				want := []uint8{uint8((r + 0xffff - a) >> 8), uint8((g + 0xffff - a) >> 8), uint8((b + 0xffff - a) >> 8)}
				for c := 0; c < ncomp; c++ {
					if got := fast[x*ncomp+c]; got != want[c] {
						t.Fatalf("%s (%d,%d) comp %d: %d, want %d", name, x, y, c, got, want[c])
					}
				}
			}
		}
	}
}
