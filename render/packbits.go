package render

import (
	"bufio"
	"errors"
	"io"
)

// packedRows decodes the run-length compression shared by PWG raster and
// Apple raster: each line starts with a repeat count (the line occurs
// count+1 times), then runs of pixels: a byte n < 128 repeats the next
// pixel n+1 times, n > 128 introduces 257-n literal pixels, and 128 fills
// the rest of the line with white. Runs past the end of a line are clipped.
type packedRows struct {
	r      *bufio.Reader
	format string
	page   int
	unit   int       // bytes per pixel (at least 1)
	white  byte      // fill byte for white
	lines  [2][]byte // the current line and the one before
	cur    int       // index of the current line in lines
	repeat int       // times the current line is still to be returned
	swap16 bool
}

// start prepares for a new page.
func (d *packedRows) start(page, bytesPerLine, unit int, white byte, swap16 bool) {
	d.page, d.unit, d.white, d.swap16 = page, unit, white, swap16
	for i := range d.lines {
		if cap(d.lines[i]) < bytesPerLine {
			d.lines[i] = make([]byte, bytesPerLine)
		}
		d.lines[i] = d.lines[i][:bytesPerLine]
	}
	d.repeat = 0
}

func (d *packedRows) fail(msg string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &FormatError{Format: d.format, Page: d.page, Msg: msg, Err: err}
}

// readRow returns the next decoded line; same reports that it repeats the
// previous one. Lines are decoded into two alternating buffers, so the
// previous line stays valid until the next call.
func (d *packedRows) readRow() ([]byte, bool, error) {
	if d.repeat > 0 {
		d.repeat--
		return d.lines[d.cur], true, nil
	}
	n, err := d.r.ReadByte()
	if err != nil {
		return nil, false, d.fail("truncated raster data", err)
	}
	d.repeat = int(n)
	d.cur ^= 1
	line, unit := d.lines[d.cur], d.unit
	for x := 0; x < len(line); {
		c, err := d.r.ReadByte()
		if err != nil {
			return nil, false, d.fail("truncated raster line", err)
		}
		switch {
		case c == 128:
			fill(line[x:], d.white)
			x = len(line)
		case c < 128:
			count := (int(c) + 1) * unit
			end := min(x+count, len(line))
			px := line[x:min(x+unit, len(line))]
			if _, err := io.ReadFull(d.r, px); err != nil {
				return nil, false, d.fail("truncated raster run", err)
			}
			if end-x < unit {
				// A partial pixel at the end of the line: skip its rest.
				if _, err := d.r.Discard(unit - (end - x)); err != nil {
					return nil, false, d.fail("truncated raster run", err)
				}
			}
			repeatPixel(line[x:end], unit)
			x = end
		default:
			count := (257 - int(c)) * unit
			end := min(x+count, len(line))
			if _, err := io.ReadFull(d.r, line[x:end]); err != nil {
				return nil, false, d.fail("truncated raster literal", err)
			}
			if extra := count - (end - x); extra > 0 {
				if _, err := d.r.Discard(extra); err != nil {
					return nil, false, d.fail("truncated raster literal", err)
				}
			}
			x = end
		}
	}
	if d.swap16 {
		for i := 0; i+1 < len(line); i += 2 {
			line[i], line[i+1] = line[i+1], line[i]
		}
	}
	return line, false, nil
}

// repeatPixel copies the first unit bytes of b over the whole of b.
func repeatPixel(b []byte, unit int) {
	if unit == 1 {
		fill(b, b[0])
		return
	}
	for n := unit; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// fill sets every byte of b to v.
func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}
