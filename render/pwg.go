package render

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PWG raster (PWG 5102.4) and the CUPS raster versions 2 and 3 it is built
// on: a 4-byte sync word, then for each page a 1796-byte header and the
// page's lines, compressed (version 2) or not (version 3).
const pwgHeaderLen = 1796

// Offsets of the header fields render uses.
const (
	pwgHWResolution  = 276
	pwgCupsWidth     = 372
	pwgCupsHeight    = 376
	pwgBitsPerColor  = 384
	pwgBitsPerPixel  = 388
	pwgBytesPerLine  = 392
	pwgColorOrder    = 396
	pwgColorSpace    = 400
	pwgNumColorsWord = 420
)

// CUPS colour spaces accepted in PWG raster.
const (
	cspaceW        = 0
	cspaceRGB      = 1
	cspaceK        = 3
	cspaceCMYK     = 6
	cspaceSW       = 18
	cspaceSRGB     = 19
	cspaceAdobeRGB = 20
)

type pwgDecoder struct {
	r          *bufio.Reader
	lim        Limits
	order      binary.ByteOrder
	compressed bool
	started    bool
	page       int
	rows       packedRows
	hdr        []byte
}

func newPWGDecoder(r io.Reader, lim Limits) *pwgDecoder {
	br := bufio.NewReaderSize(r, 64<<10)
	return &pwgDecoder{r: br, lim: lim, rows: packedRows{r: br, format: FormatPWG}, hdr: make([]byte, pwgHeaderLen)}
}

func (d *pwgDecoder) fail(msg string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &FormatError{Format: FormatPWG, Page: d.page, Msg: msg, Err: err}
}

func (d *pwgDecoder) nextPage() (*rasterPage, error) {
	if !d.started {
		var sync [4]byte
		if _, err := io.ReadFull(d.r, sync[:]); err != nil {
			return nil, d.fail("missing sync word", err)
		}
		switch string(sync[:]) {
		case "RaS2":
			d.order, d.compressed = binary.BigEndian, true
		case "2SaR":
			d.order, d.compressed = binary.LittleEndian, true
		case "RaS3":
			d.order = binary.BigEndian
		case "3SaR":
			d.order = binary.LittleEndian
		default:
			return nil, d.fail(fmt.Sprintf("bad sync word %q", sync[:]), nil)
		}
		d.started = true
	}
	if _, err := d.r.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	d.page++
	if _, err := io.ReadFull(d.r, d.hdr); err != nil {
		return nil, d.fail("truncated page header", err)
	}
	u := func(off int) int64 { return int64(d.order.Uint32(d.hdr[off:])) }
	p := &rasterPage{
		xdpi:   clampInt(u(pwgHWResolution)),
		ydpi:   clampInt(u(pwgHWResolution + 4)),
		width:  clampInt(u(pwgCupsWidth)),
		height: clampInt(u(pwgCupsHeight)),
		bpc:    clampInt(u(pwgBitsPerColor)),
	}
	bpp := clampInt(u(pwgBitsPerPixel))
	p.bytesPerLine = clampInt(u(pwgBytesPerLine))
	if order := u(pwgColorOrder); order != 0 {
		return nil, d.fail(fmt.Sprintf("colour order %d not supported (only chunky pixels)", order), nil)
	}
	cs := u(pwgColorSpace)
	white := byte(0xff)
	switch cs {
	case cspaceW, cspaceSW:
		p.colors, p.colorSpace = 1, "/DeviceGray"
	case cspaceK:
		p.colors, p.colorSpace, p.decode, white = 1, "/DeviceGray", "/Decode[1 0]", 0
	case cspaceRGB, cspaceSRGB, cspaceAdobeRGB:
		p.colors, p.colorSpace = 3, "/DeviceRGB"
	case cspaceCMYK:
		p.colors, p.colorSpace, white = 4, "/DeviceCMYK", 0
	default:
		return nil, d.fail(fmt.Sprintf("colour space %d not supported", cs), nil)
	}
	if err := checkDepth(FormatPWG, d.page, p, bpp); err != nil {
		return nil, err
	}
	if err := checkRasterPage(FormatPWG, d.page, p, d.lim); err != nil {
		return nil, err
	}
	unit := max(bpp/8, 1)
	swap := p.bpc == 16 && d.order == binary.LittleEndian
	d.rows.start(d.page, p.bytesPerLine, unit, white, swap)
	return p, nil
}

// checkDepth accepts the bit depths a PDF image can carry unchanged.
func checkDepth(format string, page int, p *rasterPage, bpp int) error {
	ok := bpp == p.bpc*p.colors
	switch p.bpc {
	case 1, 2, 4:
		ok = ok && p.colors == 1
	case 8, 16:
	default:
		ok = false
	}
	if !ok {
		return &FormatError{Format: format, Page: page,
			Msg: fmt.Sprintf("%d bits per colour, %d per pixel, %d colours not supported", p.bpc, bpp, p.colors)}
	}
	return nil
}

func (d *pwgDecoder) readRow() ([]byte, bool, error) {
	if d.compressed {
		return d.rows.readRow()
	}
	d.rows.cur ^= 1
	row := d.rows.lines[d.rows.cur]
	if _, err := io.ReadFull(d.r, row); err != nil {
		return nil, false, d.fail("truncated raster data", err)
	}
	if d.rows.swap16 {
		for i := 0; i+1 < len(row); i += 2 {
			row[i], row[i+1] = row[i+1], row[i]
		}
	}
	return row, false, nil
}

// clampInt converts a header field to int, mapping values beyond the
// 31-bit range to -1 so that limit checks reject them.
func clampInt(v int64) int {
	if v < 0 || v > 1<<31-1 {
		return -1
	}
	return int(v)
}
