package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

// jpegToPDF embeds a JPEG as one page, unchanged (DCTDecode): the file is
// copied into the PDF as it is read, only its header is parsed.
func jpegToPDF(ctx context.Context, in io.Reader, out io.Writer, meta Meta, lim Limits) (Info, error) {
	var head bytes.Buffer
	br := bufio.NewReaderSize(in, 64<<10)
	cfg, err := jpeg.DecodeConfig(io.TeeReader(io.LimitReader(br, lim.MaxImage), &head))
	if err != nil {
		return Info{}, &FormatError{Format: FormatJPEG, Msg: "bad header", Err: eofToUnexpected(err)}
	}
	if err := checkImage(FormatJPEG, cfg.Width, cfg.Height, lim); err != nil {
		return Info{}, err
	}
	var cs, decode string
	switch cfg.ColorModel {
	case color.GrayModel:
		cs = "/DeviceGray"
	case color.YCbCrModel, color.RGBAModel:
		cs = "/DeviceRGB"
	case color.CMYKModel:
		// Adobe writes CMYK JPEGs inverted.
		cs, decode = "/DeviceCMYK", "/Decode[1 0 1 0 1 0 1 0]"
	default:
		return Info{}, &FormatError{Format: FormatJPEG, Msg: "unsupported colour model"}
	}
	xdpi, ydpi := jfifDensity(head.Bytes())
	size := imagePageSize(cfg.Width, cfg.Height, xdpi, ydpi)

	pw := newPDFWriter(out)
	img, content := pw.newObj(), pw.newObj()
	dict := fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace%s/BitsPerComponent 8%s/Filter/DCTDecode",
		cfg.Width, cfg.Height, cs, decode)
	var copied int64
	eoi := &eoiScanner{}
	// The header read may already hold the start of the scan data (or all
	// of a small file), so it is scanned too, past the SOI marker.
	eoi.Write(head.Bytes()[2:])
	err = pw.stream(img, dict, func(w io.Writer) error {
		if _, err := w.Write(head.Bytes()); err != nil {
			return err
		}
		rest := io.LimitReader(br, lim.MaxImage-int64(head.Len())+1)
		n, err := io.Copy(io.MultiWriter(w, eoi), &ctxReader{ctx: ctx, r: rest})
		copied = int64(head.Len()) + n
		return err
	})
	if err != nil {
		return Info{}, err
	}
	if copied > lim.MaxImage {
		return Info{}, &LimitError{Format: FormatJPEG, What: "bytes", Value: copied, Max: lim.MaxImage}
	}
	if !eoi.seen {
		return Info{}, &FormatError{Format: FormatJPEG, Msg: "no end-of-image marker", Err: io.ErrUnexpectedEOF}
	}
	return finishImagePage(pw, img, content, size, meta)
}

// eoiScanner watches JPEG data for the end-of-image marker (FF D9).
// Entropy-coded data escapes FF bytes, so the marker appears only at the
// real end (or in an embedded thumbnail): a file without it is truncated.
type eoiScanner struct {
	ff   bool // the previous byte was FF
	seen bool
}

func (e *eoiScanner) Write(p []byte) (int, error) {
	if e.seen {
		return len(p), nil
	}
	for _, c := range p {
		if e.ff && c == 0xd9 {
			e.seen = true
			break
		}
		e.ff = c == 0xff
	}
	return len(p), nil
}

// pngToPDF decodes a PNG and embeds its pixels losslessly (Flate), 8 or 16
// bits per component. Transparent pixels are composited onto white.
func pngToPDF(ctx context.Context, in io.Reader, out io.Writer, meta Meta, lim Limits) (Info, error) {
	data, err := io.ReadAll(io.LimitReader(in, lim.MaxImage+1))
	if err != nil {
		return Info{}, fmt.Errorf("render png: read: %w", err)
	}
	if int64(len(data)) > lim.MaxImage {
		return Info{}, &LimitError{Format: FormatPNG, What: "bytes", Value: int64(len(data)), Max: lim.MaxImage}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Info{}, &FormatError{Format: FormatPNG, Msg: "bad header", Err: eofToUnexpected(err)}
	}
	if err := checkImage(FormatPNG, cfg.Width, cfg.Height, lim); err != nil {
		return Info{}, err
	}
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return Info{}, &FormatError{Format: FormatPNG, Msg: "bad image data", Err: eofToUnexpected(err)}
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	xdpi, ydpi := pngDensity(data)
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	size := imagePageSize(w, h, xdpi, ydpi)

	gray, deep := false, false
	switch m.(type) {
	case *image.Gray:
		gray = true
	case *image.Gray16:
		gray, deep = true, true
	case *image.RGBA64, *image.NRGBA64:
		deep = true
	}
	cs, bpc, ncomp := "/DeviceRGB", 8, 3
	if gray {
		cs, ncomp = "/DeviceGray", 1
	}
	if deep {
		bpc = 16
	}
	pw := newPDFWriter(out)
	img, content := pw.newObj(), pw.newObj()
	dict := fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace%s/BitsPerComponent %d", w, h, cs, bpc)
	row := make([]byte, w*ncomp*bpc/8)
	err = pw.flateStream(img, dict, func(zw io.Writer) error {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if fastPNGRow(row, m, y) {
				if _, err := zw.Write(row); err != nil {
					return err
				}
				continue
			}
			i := 0
			for x := b.Min.X; x < b.Max.X; x++ {
				// Composite onto white: c + (1-a) * white, in 16 bits.
				r, g, bl, a := m.At(x, y).RGBA()
				r, g, bl = r+0xffff-a, g+0xffff-a, bl+0xffff-a
				comps := [3]uint32{r, g, bl}
				if gray {
					comps[0] = r // gray images have r == g == b
				}
				for _, c := range comps[:ncomp] {
					if deep {
						binary.BigEndian.PutUint16(row[i:], uint16(c))
						i += 2
					} else {
						row[i] = uint8(c >> 8)
						i++
					}
				}
			}
			if _, err := zw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Info{}, err
	}
	return finishImagePage(pw, img, content, size, meta)
}

// fastPNGRow fills row with line y of the common 8-bit image types
// directly from their pixel buffers; false for other types.
func fastPNGRow(row []byte, m image.Image, y int) bool {
	switch m := m.(type) {
	case *image.Gray:
		i := m.PixOffset(m.Rect.Min.X, y)
		copy(row, m.Pix[i:i+m.Rect.Dx()])
	case *image.RGBA: // premultiplied: c + (255 - a) is c over white
		i := m.PixOffset(m.Rect.Min.X, y)
		px := m.Pix[i : i+4*m.Rect.Dx()]
		for x := 0; x < len(px)/4; x++ {
			w := 255 - px[4*x+3]
			row[3*x], row[3*x+1], row[3*x+2] = px[4*x]+w, px[4*x+1]+w, px[4*x+2]+w
		}
	case *image.NRGBA:
		i := m.PixOffset(m.Rect.Min.X, y)
		px := m.Pix[i : i+4*m.Rect.Dx()]
		for x := 0; x < len(px)/4; x++ {
			a := uint32(px[4*x+3])
			for c := 0; c < 3; c++ {
				// Rounded c·a/255 + (255 − a), as image/color would compute.
				v := uint32(px[4*x+c])
				row[3*x+c] = uint8((v*a*0x101/0xff + (0xffff - a*0x101)) >> 8)
			}
		}
	default:
		return false
	}
	return true
}

// finishImagePage writes the content stream and page showing image img
// over the whole page, then closes the PDF.
func finishImagePage(pw *pdfWriter, img, content int, size PageSize, meta Meta) (Info, error) {
	if err := pw.imagePage(size, img, content); err != nil {
		return Info{}, err
	}
	if err := pw.close(meta); err != nil {
		return Info{}, err
	}
	return Info{Pages: 1, PageSizes: pw.sizes, PDFA: pw.pdfa}, nil
}

func checkImage(format string, w, h int, lim Limits) error {
	switch {
	case w <= 0 || h <= 0:
		return &FormatError{Format: format, Msg: fmt.Sprintf("empty image %d×%d", w, h)}
	case w > lim.MaxWidth:
		return &LimitError{Format: format, What: "width", Value: int64(w), Max: int64(lim.MaxWidth)}
	case h > lim.MaxHeight:
		return &LimitError{Format: format, What: "height", Value: int64(h), Max: int64(lim.MaxHeight)}
	case int64(w)*int64(h) > lim.MaxPixels:
		return &LimitError{Format: format, What: "pixels", Value: int64(w) * int64(h), Max: lim.MaxPixels}
	}
	return nil
}

// imagePageSize sizes a page for an image: at its own resolution when it
// records one, otherwise at 72 dpi or, for large images, the resolution
// that fits an A4 sheet (portrait or landscape, as the image is).
func imagePageSize(w, h int, xdpi, ydpi float64) PageSize {
	if xdpi <= 0 || ydpi <= 0 {
		fw, fh := 8.27, 11.69
		if w > h {
			fw, fh = fh, fw
		}
		xdpi = max(72, float64(w)/fw, float64(h)/fh)
		ydpi = xdpi
	}
	return PageSize{Width: float64(w) * 72 / xdpi, Height: float64(h) * 72 / ydpi}
}

// jfifDensity returns the resolution in a JPEG's JFIF APP0 segment, or
// zeros.
func jfifDensity(b []byte) (float64, float64) {
	// SOI, then APP0 "JFIF\0" version(2) units(1) xdensity(2) ydensity(2).
	if len(b) < 18 || b[2] != 0xff || b[3] != 0xe0 || string(b[6:11]) != "JFIF\x00" {
		return 0, 0
	}
	x, y := float64(binary.BigEndian.Uint16(b[14:])), float64(binary.BigEndian.Uint16(b[16:]))
	switch b[13] {
	case 1: // dots per inch
		return x, y
	case 2: // dots per cm
		return x * 2.54, y * 2.54
	}
	return 0, 0
}

// pngDensity returns the resolution in a PNG's pHYs chunk, or zeros.
func pngDensity(b []byte) (float64, float64) {
	b = b[min(8, len(b)):]
	for len(b) >= 12 {
		n := int64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		if typ == "IDAT" || n > int64(len(b)-12) {
			return 0, 0
		}
		if typ == "pHYs" && n == 9 && b[16] == 1 { // unit: metre
			return float64(binary.BigEndian.Uint32(b[8:])) * 0.0254, float64(binary.BigEndian.Uint32(b[12:])) * 0.0254
		}
		b = b[12+n:]
	}
	return 0, 0
}

// ctxReader stops a copy when the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func eofToUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
