package render

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// rasterPage describes one page of a raster document as the PDF image it
// becomes: rows are passed through unchanged, so the layout must be one a
// PDF image dictionary can describe.
type rasterPage struct {
	width, height int    // pixels
	xdpi, ydpi    int    // resolution
	bpc           int    // bits per component: 1, 2, 4, 8 or 16
	colors        int    // components per pixel: 1, 3 or 4
	colorSpace    string // PDF colour space name
	decode        string // PDF /Decode array, "" for the default
	bytesPerLine  int
}

// size returns the physical page size in points.
func (p *rasterPage) size() PageSize {
	return PageSize{
		Width:  float64(p.width) * 72 / float64(p.xdpi),
		Height: float64(p.height) * 72 / float64(p.ydpi),
	}
}

// rasterDecoder yields the pages of a raster document one by one and each
// page's rows in order, from top to bottom.
type rasterDecoder interface {
	// nextPage reads the next page header; io.EOF when there is none.
	nextPage() (*rasterPage, error)
	// readRow returns the next row of the page (bytesPerLine bytes); same
	// reports that it equals the previous row. The previous row's slice
	// stays valid until the following call.
	readRow() (row []byte, same bool, err error)
}

// checkRasterPage validates a decoded page header against the limits.
func checkRasterPage(format string, page int, p *rasterPage, lim Limits) error {
	fe := func(msg string, a ...any) error {
		return &FormatError{Format: format, Page: page, Msg: fmt.Sprintf(msg, a...)}
	}
	switch {
	case p.width <= 0 || p.height <= 0:
		return fe("empty page %d×%d", p.width, p.height)
	case p.width > lim.MaxWidth:
		return &LimitError{Format: format, What: "width", Value: int64(p.width), Max: int64(lim.MaxWidth)}
	case p.height > lim.MaxHeight:
		return &LimitError{Format: format, What: "height", Value: int64(p.height), Max: int64(lim.MaxHeight)}
	case p.xdpi <= 0 || p.ydpi <= 0 || p.xdpi > 10000 || p.ydpi > 10000:
		return fe("resolution %d×%d dpi out of range", p.xdpi, p.ydpi)
	case p.bytesPerLine > lim.MaxLine:
		return &LimitError{Format: format, What: "bytes per line", Value: int64(p.bytesPerLine), Max: int64(lim.MaxLine)}
	}
	want := (int64(p.width)*int64(p.bpc)*int64(p.colors) + 7) / 8
	if int64(p.bytesPerLine) != want {
		return fe("%d bytes per line, want %d for %d pixels of %d bits", p.bytesPerLine, want, p.width, p.bpc*p.colors)
	}
	return nil
}

// rasterToPDF writes each page of dec as a PDF page holding one
// Flate-compressed image of the page's physical size.
func rasterToPDF(ctx context.Context, format string, dec rasterDecoder, out io.Writer, meta Meta, lim Limits) (Info, error) {
	pw := newPDFWriter(out)
	var zeros, diff, zdiff []byte
	for {
		if err := ctx.Err(); err != nil {
			return Info{}, err
		}
		pg, err := dec.nextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Info{}, err
		}
		if len(pw.pages) >= lim.MaxPages {
			return Info{}, &LimitError{Format: format, What: "pages", Value: int64(len(pw.pages) + 1), Max: int64(lim.MaxPages)}
		}
		img, content := pw.newObj(), pw.newObj()
		// Rows go through the PNG "Up" predictor: areas that repeat from
		// one row to the next (most of a printed page) become zeros, which
		// Flate compresses fast and small.
		dict := fmt.Sprintf("/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace%s/BitsPerComponent %d%s"+
			"/DecodeParms<</Predictor 12/Colors %d/BitsPerComponent %d/Columns %d>>",
			pg.width, pg.height, pg.colorSpace, pg.bpc, pg.decode, pg.colors, pg.bpc, pg.width)
		if cap(zeros) < pg.bytesPerLine {
			zeros = make([]byte, pg.bytesPerLine)
			diff = make([]byte, pg.bytesPerLine+1)
			zdiff = make([]byte, pg.bytesPerLine+1)
		}
		zeros, diff, zdiff = zeros[:pg.bytesPerLine], diff[:pg.bytesPerLine+1], zdiff[:pg.bytesPerLine+1]
		diff[0], zdiff[0] = 2, 2 // PNG filter type Up
		err = pw.flateStream(img, dict, func(w io.Writer) error {
			prev := zeros // the row above the first is zero
			for y := 0; y < pg.height; y++ {
				if y&255 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				row, same, err := dec.readRow()
				if err != nil {
					return err
				}
				out := zdiff // a repeated row differs from the one above by nothing
				if !same {
					upFilter(diff[1:], row, prev)
					out = diff
				}
				prev = row
				if _, err := w.Write(out); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return Info{}, err
		}
		if err := pw.imagePage(pg.size(), img, content); err != nil {
			return Info{}, err
		}
	}
	if len(pw.pages) == 0 {
		return Info{}, &FormatError{Format: format, Msg: "no pages"}
	}
	if err := pw.close(meta); err != nil {
		return Info{}, err
	}
	return Info{Pages: len(pw.pages), PageSizes: pw.sizes, PDFA: pw.pdfa}, nil
}

// upFilter stores in dst the bytewise difference of row and the previous
// row prev (PNG filter "Up"), eight bytes at a time.
func upFilter(dst, row, prev []byte) {
	const h = 0x8080808080808080
	i := 0
	for ; i+8 <= len(row); i += 8 {
		x := binary.LittleEndian.Uint64(row[i:])
		y := binary.LittleEndian.Uint64(prev[i:])
		if x == y {
			binary.LittleEndian.PutUint64(dst[i:], 0)
			continue
		}
		// Bytewise x - y without borrows crossing byte boundaries.
		binary.LittleEndian.PutUint64(dst[i:], ((x|h)-(y&^h))^((x^^y)&h))
	}
	for ; i < len(row); i++ {
		dst[i] = row[i] - prev[i]
	}
}
