package render

import (
	"bytes"
	"encoding/binary"
)

// Test-side encoders for the raster formats, so that seeds, error cases and
// the large-job test need no external tool.

// pwgPageHeader returns a PWG raster page header.
func pwgPageHeader(width, height, dpi, colorSpace, bpc, colors int) []byte {
	h := make([]byte, pwgHeaderLen)
	copy(h, "PwgRaster")
	put := func(off, v int) { binary.BigEndian.PutUint32(h[off:], uint32(v)) }
	put(pwgHWResolution, dpi)
	put(pwgHWResolution+4, dpi)
	put(352, width*72/dpi) // PageSize, informative
	put(356, height*72/dpi)
	put(pwgCupsWidth, width)
	put(pwgCupsHeight, height)
	put(pwgBitsPerColor, bpc)
	put(pwgBitsPerPixel, bpc*colors)
	put(pwgBytesPerLine, (width*bpc*colors+7)/8)
	put(pwgColorSpace, colorSpace)
	put(pwgNumColorsWord, colors)
	return h
}

// urfPageHeader returns an Apple raster page header.
func urfPageHeader(width, height, dpi, bpp, colorSpace int) []byte {
	h := make([]byte, urfHeaderLen)
	h[0], h[1] = byte(bpp), byte(colorSpace)
	binary.BigEndian.PutUint32(h[12:], uint32(width))
	binary.BigEndian.PutUint32(h[16:], uint32(height))
	binary.BigEndian.PutUint32(h[20:], uint32(dpi))
	return h
}

// packLine encodes one line (repeated repeat+1 times) with the shared
// run-length scheme: runs of equal pixels, literals otherwise.
func packLine(dst []byte, line []byte, unit, repeat int) []byte {
	dst = append(dst, byte(repeat))
	for x := 0; x < len(line); {
		px := line[x : x+unit]
		n := 1
		for n < 128 && x+(n+1)*unit <= len(line) && bytes.Equal(line[x+n*unit:x+(n+1)*unit], px) {
			n++
		}
		if n > 1 {
			dst = append(dst, byte(n-1))
			dst = append(dst, px...)
			x += n * unit
			continue
		}
		n = 1
		for n < 128 && x+(n+1)*unit <= len(line) &&
			!(x+(n+2)*unit <= len(line) && bytes.Equal(line[x+n*unit:x+(n+1)*unit], line[x+(n+1)*unit:x+(n+2)*unit])) {
			n++
		}
		dst = append(dst, byte(257-n))
		dst = append(dst, line[x:x+n*unit]...)
		x += n * unit
	}
	return dst
}

// testRaster builds a small document of the given format: pages pages of
// w×h pixels with a pattern of runs and literals.
func testRaster(format string, pages, w, h int) []byte {
	var b bytes.Buffer
	unit := 3
	if format == FormatPWG {
		b.WriteString("RaS2")
	} else {
		b.WriteString("UNIRAST\x00")
		binary.Write(&b, binary.BigEndian, uint32(pages))
	}
	line := make([]byte, w*unit)
	var enc []byte
	for p := 0; p < pages; p++ {
		if format == FormatPWG {
			b.Write(pwgPageHeader(w, h, 72, cspaceSRGB, 8, 3))
		} else {
			b.Write(urfPageHeader(w, h, 72, 24, 1))
		}
		for y := 0; y < h; y++ {
			for x := range line {
				line[x] = byte(x*7 + y*13 + p)
				if x/unit < w/2 {
					line[x] = 0xff
				}
			}
			enc = packLine(enc[:0], line, unit, 0)
			b.Write(enc)
		}
	}
	return b.Bytes()
}
