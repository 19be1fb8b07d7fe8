package pdfsign

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf16"
)

// lexer reads PDF tokens from b.
type lexer struct {
	b []byte
	i int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == 0
}

func isRegular(c byte) bool {
	return !isSpace(c) && !bytes.ContainsRune([]byte("/<>[]()%{}"), rune(c))
}

func (p *lexer) space() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

func (p *lexer) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lexer) int() (int64, bool) {
	s := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && p.i-s < 16 {
		p.i++
	}
	v, err := strconv.ParseInt(string(p.b[s:p.i]), 10, 64)
	return v, err == nil
}

// str reads a literal or hexadecimal string.
func (p *lexer) str() ([]byte, bool) {
	if p.byte('<') {
		s := p.i
		for p.i < len(p.b) && p.b[p.i] != '>' {
			p.i++
		}
		if p.i == len(p.b) {
			return nil, false
		}
		var digits []byte
		for _, c := range p.b[s:p.i] {
			if !isSpace(c) {
				digits = append(digits, c)
			}
		}
		p.i++
		if len(digits)%2 == 1 {
			digits = append(digits, '0')
		}
		out := make([]byte, len(digits)/2)
		_, err := hex.Decode(out, digits)
		return out, err == nil
	}
	if !p.byte('(') {
		return nil, false
	}
	var out []byte
	depth := 1
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return out, true
			}
		case '\\':
			if p.i == len(p.b) {
				return nil, false
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '7'; k++ {
						v = v*8 + int(p.b[p.i]-'0')
						p.i++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, false
}

// decodeText decodes a PDF text string: UTF-16BE after a byte order mark,
// else PDFDocEncoding (read as Latin-1, which it matches for letters).
func decodeText(b []byte) string {
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// parsePDFDate reads D:YYYYMMDDHHmmSS[Z|±HH'mm'] (the parts after the year
// are optional).
func parsePDFDate(s string) (time.Time, bool) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	if len(s) < 4 {
		return time.Time{}, false
	}
	digits := 0
	for digits < len(s) && digits < 14 && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	layout := "20060102150405"[:digits]
	t, err := time.Parse(layout, s[:digits])
	if err != nil {
		return time.Time{}, false
	}
	rest := s[digits:]
	if len(rest) >= 3 && (rest[0] == '+' || rest[0] == '-') {
		h, err1 := strconv.Atoi(rest[1:3])
		m := 0
		if len(rest) >= 6 && rest[3] == '\'' {
			m, _ = strconv.Atoi(rest[4:6])
		}
		if err1 == nil {
			off := (h*60 + m) * 60
			if rest[0] == '-' {
				off = -off
			}
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone("", off))
		}
	}
	return t, true
}
