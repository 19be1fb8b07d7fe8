package render

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// trueType is a TrueType font program read far enough to subset it: the
// tables by tag, the glyph offsets and the advance widths.
type trueType struct {
	tables     map[string][]byte
	numGlyphs  int
	unitsPerEm int
	loca       []uint32 // numGlyphs+1 offsets into glyf
	advances   []uint16 // per glyph
	bbox       [4]int16
	ascent     int16
	descent    int16
	capHeight  int16
}

var errTTF = errors.New("bad TrueType font")

// parseTrueType reads the tables a subset needs.
func parseTrueType(b []byte) (*trueType, error) {
	if len(b) < 12 {
		return nil, errTTF
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	t := &trueType{tables: map[string][]byte{}}
	for i := 0; i < n; i++ {
		rec := 12 + 16*i
		if rec+16 > len(b) {
			return nil, errTTF
		}
		tag := string(b[rec : rec+4])
		off := binary.BigEndian.Uint32(b[rec+8:])
		length := binary.BigEndian.Uint32(b[rec+12:])
		if uint64(off)+uint64(length) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: table %s out of the file", errTTF, tag)
		}
		t.tables[tag] = b[off : off+length]
	}
	head, hhea, maxp, hmtx, loca := t.tables["head"], t.tables["hhea"], t.tables["maxp"], t.tables["hmtx"], t.tables["loca"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 || t.tables["glyf"] == nil {
		return nil, fmt.Errorf("%w: missing tables", errTTF)
	}
	u16 := func(b []byte, o int) uint16 { return binary.BigEndian.Uint16(b[o:]) }
	i16 := func(b []byte, o int) int16 { return int16(binary.BigEndian.Uint16(b[o:])) }
	t.unitsPerEm = int(u16(head, 18))
	for i := range t.bbox {
		t.bbox[i] = i16(head, 36+2*i)
	}
	t.ascent, t.descent = i16(hhea, 4), i16(hhea, 6)
	t.capHeight = t.ascent
	if os2 := t.tables["OS/2"]; len(os2) >= 90 && u16(os2, 0) >= 2 {
		t.capHeight = i16(os2, 88)
	}
	t.numGlyphs = int(u16(maxp, 4))
	long := i16(head, 50) == 1
	t.loca = make([]uint32, t.numGlyphs+1)
	for g := range t.loca {
		switch {
		case long && 4*g+4 <= len(loca):
			t.loca[g] = binary.BigEndian.Uint32(loca[4*g:])
		case !long && 2*g+2 <= len(loca):
			t.loca[g] = 2 * uint32(u16(loca, 2*g))
		default:
			return nil, fmt.Errorf("%w: short loca", errTTF)
		}
	}
	nh := int(u16(hhea, 34))
	if nh == 0 || len(hmtx) < 4*nh {
		return nil, fmt.Errorf("%w: short hmtx", errTTF)
	}
	t.advances = make([]uint16, t.numGlyphs)
	for g := range t.advances {
		t.advances[g] = u16(hmtx, 4*min(g, nh-1))
	}
	return t, nil
}

// glyph returns glyph g's outline data.
func (t *trueType) glyph(g int) []byte {
	glyf := t.tables["glyf"]
	a, b := t.loca[g], t.loca[g+1]
	if a >= b || int(b) > len(glyf) {
		return nil
	}
	return glyf[a:b]
}

// components returns the glyphs a composite glyph is made of.
func components(data []byte) []int {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	var out []int
	p := 10
	for p+4 <= len(data) {
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, int(binary.BigEndian.Uint16(data[p+2:])))
		p += 4
		if flags&0x0001 != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x0008 != 0:
			p += 2
		case flags&0x0040 != 0:
			p += 4
		case flags&0x0080 != 0:
			p += 8
		}
		if flags&0x0020 == 0 {
			break
		}
	}
	return out
}

// subset returns a font program with the outlines of the used glyphs (and
// of their components and .notdef) and empty outlines for the others, so
// glyph numbers stay the same (CIDToGIDMap /Identity). Hinting and metric
// tables are kept; layout tables (GSUB, GPOS, kern…) are dropped.
func (t *trueType) subset(used map[uint16]rune) []byte {
	keep := map[int]bool{0: true}
	var walk func(g int, depth int)
	walk = func(g int, depth int) {
		if g < 0 || g >= t.numGlyphs || keep[g] && g != 0 || depth > 8 {
			return
		}
		keep[g] = true
		for _, c := range components(t.glyph(g)) {
			walk(c, depth+1)
		}
	}
	for g := range used {
		walk(int(g), 0)
	}
	walk(0, 0)
	var glyf bytes.Buffer
	loca := make([]byte, 4*(t.numGlyphs+1))
	for g := 0; g < t.numGlyphs; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(glyf.Len()))
		if keep[g] {
			glyf.Write(t.glyph(g))
			for glyf.Len()%4 != 0 {
				glyf.WriteByte(0)
			}
		}
	}
	binary.BigEndian.PutUint32(loca[4*t.numGlyphs:], uint32(glyf.Len()))
	head := bytes.Clone(t.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca
	// post version 3: the same metrics, no glyph names.
	post := make([]byte, 32)
	if p := t.tables["post"]; len(p) >= 32 {
		copy(post, p[:32])
	}
	binary.BigEndian.PutUint32(post, 0x00030000)
	tables := map[string][]byte{"head": head, "glyf": glyf.Bytes(), "loca": loca, "post": post}
	for _, tag := range []string{"hhea", "hmtx", "maxp", "cmap", "cvt ", "fpgm", "prep", "name", "OS/2"} {
		if b, ok := t.tables[tag]; ok {
			tables[tag] = b
		}
	}
	return writeTrueType(tables)
}

// writeTrueType assembles tables into a font file with correct checksums.
func writeTrueType(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	var out bytes.Buffer
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr, 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(16*n-16<<es))
	off := len(hdr)
	headAt := 0
	var body bytes.Buffer
	for i, tag := range tags {
		b := tables[tag]
		rec := hdr[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], checksum(b))
		binary.BigEndian.PutUint32(rec[8:], uint32(off+body.Len()))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(b)))
		if tag == "head" {
			headAt = off + body.Len()
		}
		body.Write(b)
		for body.Len()%4 != 0 {
			body.WriteByte(0)
		}
	}
	out.Write(hdr)
	out.Write(body.Bytes())
	font := out.Bytes()
	binary.BigEndian.PutUint32(font[headAt+8:], 0xB1B0AFBA-checksum(font))
	return font
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
