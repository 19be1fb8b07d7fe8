package render

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"hash/adler32"
	"io"
	"strings"
	"testing"
)

func TestRasterRoundTrip(t *testing.T) {
	for _, f := range []string{FormatPWG, FormatURF} {
		t.Run(f, func(t *testing.T) {
			var out bytes.Buffer
			info, err := ToPDF(context.Background(), "", bytes.NewReader(testRaster(f, 3, 40, 30)), &out, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != f || info.Pages != 3 || info.PageSizes[0] != (PageSize{40, 30}) {
				t.Fatalf("info = %+v", info)
			}
			if _, err := readPDF(bytes.NewReader(out.Bytes())); err != nil {
				t.Fatalf("pdfcpu rejects the output: %v", err)
			}
		})
	}
}

func TestRasterErrors(t *testing.T) {
	pwg := testRaster(FormatPWG, 1, 40, 30)
	urf := testRaster(FormatURF, 1, 40, 30)
	hdr := func(f func(h []byte)) []byte {
		d := append([]byte(nil), pwg...)
		f(d[4 : 4+pwgHeaderLen])
		return d
	}
	put := func(h []byte, off int, v uint32) {
		h[off], h[off+1], h[off+2], h[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	cases := []struct {
		name, format string
		in           []byte
		check        func(error) bool
	}{
		{"pwg-truncated-data", FormatPWG, pwg[:len(pwg)-10], isTruncated},
		{"pwg-truncated-header", FormatPWG, pwg[:100], isTruncated},
		{"urf-truncated", FormatURF, urf[:len(urf)-1], isTruncated},
		{"urf-truncated-header", FormatURF, urf[:20], isTruncated},
		{"pwg-huge-width", FormatPWG, hdr(func(h []byte) { put(h, pwgCupsWidth, 100000) }), isLimit},
		{"pwg-huge-height", FormatPWG, hdr(func(h []byte) { put(h, pwgCupsHeight, 100000) }), isLimit},
		{"pwg-negative", FormatPWG, hdr(func(h []byte) { put(h, pwgCupsWidth, 0xffffffff) }), isFormat},
		{"pwg-bad-bpl", FormatPWG, hdr(func(h []byte) { put(h, pwgBytesPerLine, 7) }), isFormat},
		{"pwg-zero-dpi", FormatPWG, hdr(func(h []byte) { put(h, pwgHWResolution, 0) }), isFormat},
		{"pwg-colorspace", FormatPWG, hdr(func(h []byte) { put(h, pwgColorSpace, 16) }), isFormat},
		{"pwg-planar", FormatPWG, hdr(func(h []byte) { put(h, pwgColorOrder, 2) }), isFormat},
		{"pwg-bad-sync", FormatPWG, []byte("RaSxjunk"), isFormat},
		{"pwg-no-pages", FormatPWG, []byte("RaS2"), isFormat},
		{"urf-huge", FormatURF, append([]byte("UNIRAST\x00\x00\x00\x00\x01"), urfPageHeader(100000, 100000, 300, 24, 1)...), isLimit},
		{"urf-bad-bpp", FormatURF, append([]byte("UNIRAST\x00\x00\x00\x00\x01"), urfPageHeader(10, 10, 300, 20, 1)...), isFormat},
		{"unknown", "", []byte{0, 1, 2, 3, 0, 0, 0}, func(err error) bool { return errors.Is(err, ErrUnsupported) }},
		{"postscript", "", []byte("%!PS-Adobe-3.0\n"), func(err error) bool { return errors.Is(err, ErrUnsupported) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ToPDF(context.Background(), c.format, bytes.NewReader(c.in), io.Discard, testMeta)
			if err == nil || !c.check(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestPageLimit(t *testing.T) {
	var r Renderer
	r.Limits.MaxPages = 2
	_, err := r.ToPDF(context.Background(), FormatPWG, bytes.NewReader(testRaster(FormatPWG, 3, 8, 8)), io.Discard, testMeta)
	if !isLimit(err) {
		t.Fatalf("err = %v", err)
	}
	_, err = r.ToPDF(context.Background(), FormatText, strings.NewReader(strings.Repeat("\f.", 5)), io.Discard, testMeta)
	if !isLimit(err) {
		t.Fatalf("text: err = %v", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ToPDF(ctx, FormatPWG, bytes.NewReader(testRaster(FormatPWG, 1, 8, 8)), io.Discard, testMeta)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"RaS2....":              FormatPWG,
		"UNIRAST\x00":           FormatURF,
		"\xff\xd8\xff\xe0":      FormatJPEG,
		"\x89PNG\r\n\x1a\n":     FormatPNG,
		"%PDF-1.7\n":            FormatPDF,
		"\r\n\r\n%PDF-1.4":      FormatPDF,
		"Bonjour, état civil\n": FormatText,
		"Cr\xe9teil\n":          FormatText,
		"%!PS-Adobe-3.0":        FormatPostScript,
		"\x00\x01\x02":          "",
		"":                      "",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func isTruncated(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe) && errors.Is(err, io.ErrUnexpectedEOF)
}

func isFormat(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe)
}

func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

func TestUpFilter(t *testing.T) {
	row, prev := make([]byte, 37), make([]byte, 37)
	for i := range row {
		row[i], prev[i] = byte(i*37+5), byte(i*91+200)
	}
	copy(row[8:16], prev[8:16])
	dst := make([]byte, 37)
	upFilter(dst, row, prev)
	for i := range row {
		if dst[i] != row[i]-prev[i] {
			t.Fatalf("byte %d: %d, want %d", i, dst[i], row[i]-prev[i])
		}
	}
}

func TestAdler32Combine(t *testing.T) {
	a, b := bytes.Repeat([]byte("sealprint"), 9000), bytes.Repeat([]byte{0xff, 1}, 40000)
	got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b))
	if want := adler32.Checksum(append(append([]byte(nil), a...), b...)); got != want {
		t.Fatalf("%08x, want %08x", got, want)
	}
}

func TestPZWriter(t *testing.T) {
	data := make([]byte, 3*pzChunk+12345)
	for i := range data {
		data[i] = byte(i / 1000 * 7)
	}
	var b bytes.Buffer
	zw := newPZWriter(&b, flateLevel)
	zw.Write(data[:100])
	zw.Write(data[100:])
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr) // checks the Adler-32 too
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestPWGVariants checks the uncompressed (RaS3) and little-endian (2SaR)
// forms of CUPS raster against the plain PWG form of the same pixels.
func TestPWGVariants(t *testing.T) {
	const w, h = 6, 4
	rows := make([][]byte, h)
	for y := range rows {
		rows[y] = make([]byte, w*6) // sRGB 16-bit
		for x := range rows[y] {
			rows[y][x] = byte(x*11 + y*3)
		}
	}
	hdr := pwgPageHeader(w, h, 72, cspaceSRGB, 16, 3)
	leHdr := append([]byte(nil), hdr...)
	for off := 256; off < 580; off += 4 {
		v := leHdr[off : off+4]
		v[0], v[1], v[2], v[3] = v[3], v[2], v[1], v[0]
	}
	build := func(sync string, hdr []byte, compressed, swap bool) []byte {
		b := append([]byte(sync), hdr...)
		for _, r := range rows {
			r = append([]byte(nil), r...)
			if swap {
				for i := 0; i < len(r); i += 2 {
					r[i], r[i+1] = r[i+1], r[i]
				}
			}
			if compressed {
				b = packLine(b, r, 6, 0)
			} else {
				b = append(b, r...)
			}
		}
		return b
	}
	render := func(in []byte) []byte {
		var out bytes.Buffer
		if _, err := ToPDF(context.Background(), "", bytes.NewReader(in), &out, testMeta); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	want := render(build("RaS2", hdr, true, false))
	for name, in := range map[string][]byte{
		"RaS3": build("RaS3", hdr, false, false),
		"2SaR": build("2SaR", leHdr, true, true),
		"3SaR": build("3SaR", leHdr, false, true),
	} {
		if got := render(in); !bytes.Equal(got, want) {
			t.Errorf("%s renders differently from RaS2", name)
		}
	}
}
