package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Layout of text pages: A4 portrait, DejaVu Sans Mono 10 pt (about 6 pt
// per character), 80 columns and 60 lines of 12 pt, centred.
const (
	textPageW    = 595.28
	textPageH    = 841.89
	textCols     = 80
	textRows     = 60
	textFontSize = 10
	textLeading  = 12
	textTabWidth = 8
)

// textToPDF lays plain text out on A4 pages in an embedded subset of
// DejaVu Sans Mono, as a PDF/A-2b document (XMP metadata, sRGB output
// intent). The input is read as UTF-8; bytes that are not UTF-8 are taken
// as Windows-1252 (a superset of Latin-1 printable characters), so Latin-1
// files keep their accents. With singleByte (a declared Latin-1 charset)
// every byte is Windows-1252. Long lines wrap; form feeds start a new
// page; characters the font cannot show become '?'.
func textToPDF(ctx context.Context, in io.Reader, out io.Writer, meta Meta, lim Limits, singleByte bool) (Info, error) {
	fu, err := newFontUse()
	if err != nil {
		return Info{}, err
	}
	pw := newPDFWriter(out)
	font := pw.newObj() // written at the end, once the glyphs used are known
	resources := fmt.Sprintf("<</Font<</F1 %d 0 R>>>>", font)
	size := PageSize{Width: textPageW, Height: textPageH}

	lm := (textPageW - textCols*textFontSize*fu.advance()) / 2
	top := textPageH - (textPageH-textRows*textLeading)/2 - textFontSize + textLeading
	var (
		page  bytes.Buffer
		line  []uint16 // glyphs
		rows  int
		empty = true // nothing on the current page yet
	)
	startPage := func() {
		page.Reset()
		fmt.Fprintf(&page, "BT /F1 %d Tf %d TL %s %s Td\n", textFontSize, textLeading, num(lm), num(top))
		rows = 0
	}
	flushPage := func() error {
		if len(pw.pages) >= lim.MaxPages {
			return &LimitError{Format: FormatText, What: "pages", Value: int64(len(pw.pages) + 1), Max: int64(lim.MaxPages)}
		}
		page.WriteString("ET\n")
		content := pw.newObj()
		if err := pw.flateStream(content, "", func(w io.Writer) error {
			_, err := w.Write(page.Bytes())
			return err
		}); err != nil {
			return err
		}
		pw.page(size, resources, content)
		startPage()
		empty = true
		return ctx.Err()
	}
	endLine := func() error {
		page.WriteByte('<')
		for _, g := range line {
			fmt.Fprintf(&page, "%04X", g)
		}
		page.WriteString(">'\n")
		line = line[:0]
		rows++
		empty = false
		if rows == textRows {
			return flushPage()
		}
		return nil
	}
	startPage()

	br := bufio.NewReaderSize(&ctxReader{ctx: ctx, r: in}, 64<<10)
	first := true
	for {
		b, err := br.Peek(utf8.UTFMax)
		if len(b) == 0 {
			if errors.Is(err, io.EOF) {
				break
			}
			return Info{}, fmt.Errorf("render text: read: %w", err)
		}
		r, n := utf8.DecodeRune(b)
		if singleByte {
			r, n = rune(b[0]), 1
		}
		if singleByte && r >= 0x80 {
			r = cp1252(b[0])
		} else if r == utf8.RuneError && n == 1 {
			r = cp1252(b[0]) // not UTF-8: Windows-1252 / Latin-1 byte
		} else if r == 0xfeff && first {
			br.Discard(n)
			first = false
			continue
		}
		first = false
		br.Discard(n)
		switch r {
		case '\r':
			if nb, _ := br.Peek(1); len(nb) == 1 && nb[0] == '\n' {
				br.Discard(1)
			}
			fallthrough
		case '\n':
			if err := endLine(); err != nil {
				return Info{}, err
			}
			continue
		case '\f':
			if len(line) > 0 {
				if err := endLine(); err != nil {
					return Info{}, err
				}
			}
			if !empty {
				if err := flushPage(); err != nil {
					return Info{}, err
				}
			}
			continue
		case '\t':
			for {
				line = append(line, fu.glyph(' '))
				if len(line) == textCols {
					if err := endLine(); err != nil {
						return Info{}, err
					}
					break
				}
				if len(line)%textTabWidth == 0 {
					break
				}
			}
			continue
		}
		line = append(line, fu.glyph(printable(r)))
		if len(line) == textCols {
			if err := endLine(); err != nil {
				return Info{}, err
			}
		}
	}
	if len(line) > 0 {
		if err := endLine(); err != nil {
			return Info{}, err
		}
	}
	if !empty || len(pw.pages) == 0 {
		if err := flushPage(); err != nil {
			return Info{}, err
		}
	}
	if err := fu.write(pw, font); err != nil {
		return Info{}, err
	}
	if err := pw.close(meta); err != nil {
		return Info{}, err
	}
	return Info{Pages: len(pw.pages), PageSizes: pw.sizes, PDFA: pw.pdfa}, nil
}

// winAnsiHigh maps the characters of Windows-1252's 0x80–0x9F range.
var winAnsiHigh = map[byte]rune{
	0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡',
	0x88: 'ˆ', 0x89: '‰', 0x8a: 'Š', 0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž',
	0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—',
	0x98: '˜', 0x99: '™', 0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ',
}

// cp1252 decodes one Windows-1252 byte ('?' for the five it leaves
// undefined and for ASCII control bytes, which never get here as text).
func cp1252(c byte) rune {
	if r, ok := winAnsiHigh[c]; ok {
		return r
	}
	if c < 0x80 || c >= 0xa0 {
		return printable(rune(c))
	}
	return '?'
}

// printable replaces control characters, which a page cannot show, by
// '?', and no-break spaces by spaces.
func printable(r rune) rune {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0, r == 0xfffd:
		return '?'
	case r == 0x00a0 || r == 0x202f:
		return ' '
	}
	return r
}
