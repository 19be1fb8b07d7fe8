package render

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Apple raster (URF): "UNIRAST\0", a 32-bit page count (0 when unknown),
// then for each page a 32-byte header and the page's lines compressed as
// in PWG raster.
const urfHeaderLen = 32

type urfDecoder struct {
	r       *bufio.Reader
	lim     Limits
	started bool
	page    int
	rows    packedRows
}

func newURFDecoder(r io.Reader, lim Limits) *urfDecoder {
	br := bufio.NewReaderSize(r, 64<<10)
	return &urfDecoder{r: br, lim: lim, rows: packedRows{r: br, format: FormatURF}}
}

func (d *urfDecoder) fail(msg string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &FormatError{Format: FormatURF, Page: d.page, Msg: msg, Err: err}
}

func (d *urfDecoder) nextPage() (*rasterPage, error) {
	if !d.started {
		var h [12]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			return nil, d.fail("truncated file header", err)
		}
		if string(h[:8]) != "UNIRAST\x00" {
			return nil, d.fail(fmt.Sprintf("bad magic %q", h[:8]), nil)
		}
		d.started = true
	}
	if _, err := d.r.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	d.page++
	var h [urfHeaderLen]byte
	if _, err := io.ReadFull(d.r, h[:]); err != nil {
		return nil, d.fail("truncated page header", err)
	}
	bpp, cs := int(h[0]), h[1]
	res := clampInt(int64(binary.BigEndian.Uint32(h[20:])))
	p := &rasterPage{
		width:  clampInt(int64(binary.BigEndian.Uint32(h[12:]))),
		height: clampInt(int64(binary.BigEndian.Uint32(h[16:]))),
		xdpi:   res,
		ydpi:   res,
	}
	white := byte(0xff)
	switch cs {
	case 0, 4: // sGray, device gray
		p.colors, p.colorSpace = 1, "/DeviceGray"
		if bpp == 1 {
			// One-bit pages come from CUPS-based writers with 1 = black.
			p.decode, white = "/Decode[1 0]", 0
		}
	case 1, 3, 5: // sRGB, Adobe RGB, device RGB
		p.colors, p.colorSpace = 3, "/DeviceRGB"
	case 6:
		p.colors, p.colorSpace, white = 4, "/DeviceCMYK", 0
	default:
		return nil, d.fail(fmt.Sprintf("colour space %d not supported", cs), nil)
	}
	p.bpc = bpp / p.colors
	if err := checkDepth(FormatURF, d.page, p, bpp); err != nil {
		return nil, err
	}
	p.bytesPerLine = int((int64(max(p.width, 0))*int64(bpp) + 7) / 8)
	if err := checkRasterPage(FormatURF, d.page, p, d.lim); err != nil {
		return nil, err
	}
	d.rows.start(d.page, p.bytesPerLine, max(bpp/8, 1), white, false)
	return p, nil
}

func (d *urfDecoder) readRow() ([]byte, bool, error) { return d.rows.readRow() }
