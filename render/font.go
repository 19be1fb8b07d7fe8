package render

import (
	"crypto/sha256"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"golang.org/x/image/font/sfnt"
)

// monoFont is DejaVu Sans Mono (Bitstream Vera licence, assets/): text
// pages embed a subset of it, so every character it has (WinAnsi, Latin
// Extended-A, ✓ and many more) survives, as PDF/A requires.
//
//go:embed assets/DejaVuSansMono.ttf
var monoFont []byte

const monoFontName = "DejaVuSansMono"

var (
	monoOnce  sync.Once
	monoTTF   *trueType
	monoSfnt  *sfnt.Font
	monoErr   error
	monoQuest uint16 // glyph of '?', shown for characters the font lacks
)

func loadMono() (*trueType, *sfnt.Font, error) {
	monoOnce.Do(func() {
		if monoTTF, monoErr = parseTrueType(monoFont); monoErr != nil {
			return
		}
		if monoSfnt, monoErr = sfnt.Parse(monoFont); monoErr != nil {
			return
		}
		var b sfnt.Buffer
		g, _ := monoSfnt.GlyphIndex(&b, '?')
		monoQuest = uint16(g)
	})
	return monoTTF, monoSfnt, monoErr
}

// fontUse maps the characters a document shows to glyphs of the embedded
// font and remembers which were used, for the subset and the ToUnicode map.
type fontUse struct {
	ttf  *trueType
	f    *sfnt.Font
	buf  sfnt.Buffer
	used map[uint16]rune
}

func newFontUse() (*fontUse, error) {
	ttf, f, err := loadMono()
	if err != nil {
		return nil, fmt.Errorf("embedded font: %w", err)
	}
	return &fontUse{ttf: ttf, f: f, used: map[uint16]rune{}}, nil
}

// glyph returns the glyph showing r ('?' when the font has none: PDF/A
// forbids showing .notdef).
func (u *fontUse) glyph(r rune) uint16 {
	g, err := u.f.GlyphIndex(&u.buf, r)
	if err != nil || g == 0 {
		g, r = sfnt.GlyphIndex(monoQuest), '?'
	}
	if _, ok := u.used[uint16(g)]; !ok {
		u.used[uint16(g)] = r
	}
	return uint16(g)
}

// advance is the width of every glyph of the monospaced font, in text
// space units per point of font size.
func (u *fontUse) advance() float64 {
	return float64(u.ttf.advances[monoQuest]) / float64(u.ttf.unitsPerEm)
}

// write writes the Type 0 font object fontObj and what it refers to: the
// CID font, its descriptor, the subset font program and the ToUnicode map.
func (u *fontUse) write(p *pdfWriter, fontObj int) error {
	gids := make([]int, 0, len(u.used))
	for g := range u.used {
		gids = append(gids, int(g))
	}
	sort.Ints(gids)
	h := sha256.New()
	for _, g := range gids {
		fmt.Fprintf(h, "%d,", g)
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	name := string(tag) + "+" + monoFontName
	scale := func(v int) string { return num(float64(v) * 1000 / float64(u.ttf.unitsPerEm)) }

	cid, desc, file, toUni := p.newObj(), p.newObj(), p.newObj(), p.newObj()
	p.obj(fontObj, fmt.Sprintf("<</Type/Font/Subtype/Type0/BaseFont/%s/Encoding/Identity-H/DescendantFonts[%d 0 R]/ToUnicode %d 0 R>>", name, cid, toUni))
	var w strings.Builder
	for _, g := range gids {
		fmt.Fprintf(&w, "%d[%s]", g, scale(int(u.ttf.advances[g])))
	}
	p.obj(cid, fmt.Sprintf("<</Type/Font/Subtype/CIDFontType2/BaseFont/%s/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor %d 0 R/CIDToGIDMap/Identity/W[%s]>>",
		name, desc, w.String()))
	b := u.ttf.bbox
	p.obj(desc, fmt.Sprintf("<</Type/FontDescriptor/FontName/%s/Flags 5/FontBBox[%s %s %s %s]/ItalicAngle 0/Ascent %s/Descent %s/CapHeight %s/StemV 80/FontFile2 %d 0 R>>",
		name, scale(int(b[0])), scale(int(b[1])), scale(int(b[2])), scale(int(b[3])),
		scale(int(u.ttf.ascent)), scale(int(u.ttf.descent)), scale(int(u.ttf.capHeight)), file))
	prog := u.ttf.subset(u.used)
	if err := p.flateStream(file, fmt.Sprintf("/Length1 %d", len(prog)), func(w io.Writer) error {
		_, err := w.Write(prog)
		return err
	}); err != nil {
		return err
	}
	return p.flateStream(toUni, "", func(w io.Writer) error {
		_, err := io.WriteString(w, toUnicodeCMap(gids, u.used))
		return err
	})
}

// toUnicodeCMap maps each glyph shown back to its character, so text can
// be searched and copied (pdftotext).
func toUnicodeCMap(gids []int, used map[uint16]rune) string {
	var b strings.Builder
	b.WriteString("/CIDInit/ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo<</Registry(Adobe)/Ordering(UCS)/Supplement 0>>def\n/CMapName/Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000><FFFF>\nendcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X><", g)
			for _, u := range utf16Of(used[uint16(g)]) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict/CMap defineresource pop\nend\nend\n")
	return b.String()
}
