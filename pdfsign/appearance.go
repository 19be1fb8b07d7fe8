package pdfsign

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// visibleAppearance returns the content stream of a visible signature of
// width w and height h: a frame and two lines of text in Helvetica
// (WinAnsi; characters outside it become '?').
func visibleAppearance(name string, t time.Time, w, h float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "q 0.5 w 0 0 1 RG 0.25 0.25 %s %s re S Q\n", num(w-0.5), num(h-0.5))
	line := func(y float64, size int, s string) {
		fmt.Fprintf(&b, "BT /Helv %d Tf 6 %s Td %s Tj ET\n", size, num(y), winAnsi(s))
	}
	line(h-18, 10, "Signé électroniquement par")
	line(h-32, 10, name)
	line(h-46, 8, t.UTC().Format("2006-01-02 15:04:05 UTC"))
	return b.String()
}

// winAnsi encodes s as a PDF literal string in WinAnsiEncoding.
func winAnsi(s string) string {
	enc := charmap.Windows1252.NewEncoder()
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		e, err := enc.Bytes([]byte(string(r)))
		if err != nil || len(e) != 1 || e[0] < 0x20 {
			e = []byte{'?'}
		}
		switch c := e[0]; {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c > 0x7e:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}
