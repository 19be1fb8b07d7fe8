package render

import (
	"bytes"
	"unicode/utf8"
)

// sniffLen is how many leading bytes Sniff needs to decide.
const sniffLen = 1024

// Sniff returns the MIME type of a document from its first bytes (1024 are
// enough), or "" when it is none of the accepted formats. PostScript is
// recognised (FormatPostScript) so that it is refused rather than printed
// as a program listing. Text is
// recognised only when the bytes hold no control characters other than
// whitespace and form feeds.
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("RaS2")), bytes.HasPrefix(head, []byte("2SaR")),
		bytes.HasPrefix(head, []byte("RaS3")), bytes.HasPrefix(head, []byte("3SaR")):
		return FormatPWG
	case bytes.HasPrefix(head, []byte("UNIRAST\x00")):
		return FormatURF
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return FormatJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(head, []byte("%!")), bytes.HasPrefix(head, []byte("\x04%!")):
		// PostScript is text, but printing its listing is not what the
		// sender meant.
		return FormatPostScript
	}
	// PDF readers accept the header anywhere in the first 1024 bytes.
	h := head
	if len(h) > sniffLen {
		h = h[:sniffLen]
	}
	if bytes.Contains(h, []byte("%PDF-")) {
		return FormatPDF
	}
	if looksLikeText(h) {
		return FormatText
	}
	return ""
}

// looksLikeText reports whether b is plausibly UTF-8 or Latin-1 text.
func looksLikeText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			// Not UTF-8 here: accept Latin-1 letters, not C1 controls.
			if b[0] < 0xa0 && len(b) >= utf8.UTFMax {
				return false
			}
		} else if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			return false
		} else if r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}
