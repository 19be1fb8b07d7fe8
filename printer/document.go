package printer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/OpenPrinting/goipp"
)

// docReader streams the document data that follows the attributes of a
// request, failing with ErrTooLarge past the limit.
type docReader struct {
	br    *bufio.Reader
	n     int64
	limit int64
	eof   bool
	err   error
}

func newDocReader(br *bufio.Reader, limit int64) *docReader {
	return &docReader{br: br, limit: limit}
}

func (d *docReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.n > d.limit {
		d.err = fmt.Errorf("read document: %w (limit %d bytes)", ErrTooLarge, d.limit)
		return 0, d.err
	}
	// Allow reading one byte past the limit to tell "exactly at" from "over".
	if rem := d.limit + 1 - d.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := d.br.Read(p)
	d.n += int64(n)
	if d.n > d.limit {
		d.err = fmt.Errorf("read document: %w (limit %d bytes)", ErrTooLarge, d.limit)
		return n, d.err
	}
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}

// consumed reports whether the body was read to its end.
func (d *docReader) consumed() bool { return d.eof }

// peek returns up to n first bytes of the document without consuming them.
func (d *docReader) peek(n int) []byte {
	b, _ := d.br.Peek(n)
	return b
}

// sniffLen is how many leading bytes are examined to identify a format.
const sniffLen = 1024

// sniffFormat identifies a document from its first bytes; "" if unknown.
func sniffFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(head, []byte("RaS2")):
		return "image/pwg-raster"
	case bytes.HasPrefix(head, []byte("UNIRAST\x00")):
		return "image/urf"
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.Contains(head, []byte("%PDF-")):
		return "application/pdf" // PDF with leading garbage, as readers accept
	case looksLikeText(head):
		return "text/plain"
	}
	return ""
}

// looksLikeText reports whether head is UTF-8 text without control bytes
// other than whitespace, form feed and escape.
func looksLikeText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	// Ignore a rune cut at the end of the sniffed window.
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	if !utf8.Valid(head) {
		return false
	}
	for _, c := range head {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b {
			return false
		}
	}
	return true
}

// errEmptyDocument is returned for a request without document data.
var errEmptyDocument = errors.New("empty document")

// documentFormat returns the format of the document in rq: the declared
// document-format checked against the data, or the sniffed format for
// application/octet-stream.
func documentFormat(rq *request) (string, error) {
	declared, _, err := stringValue(rq.msg.Operation, "document-format", goipp.TagMimeType)
	if err != nil {
		return "", err
	}
	declared = strings.ToLower(strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]))
	if declared == "" {
		declared = "application/octet-stream"
	}
	if !formatSupported(declared) {
		return "", &ippError{Status: goipp.StatusErrorDocumentFormatNotSupported,
			Msg:         "document format " + declared + " is not supported",
			Unsupported: goipp.Attributes{attrStrings("document-format", goipp.TagMimeType, declared)}}
	}
	head := rq.body.peek(sniffLen)
	if len(head) == 0 {
		return "", errorf(goipp.StatusErrorBadRequest, "%v", errEmptyDocument)
	}
	sniffed := sniffFormat(head)
	if declared == "application/octet-stream" {
		if sniffed == "" {
			return "", errorf(goipp.StatusErrorDocumentFormatNotSupported, "unrecognized document format")
		}
		return sniffed, nil
	}
	if declared == "text/plain" {
		if !looksLikeText(head) {
			return "", errorf(goipp.StatusErrorDocumentFormatError, "document is not plain text")
		}
		return declared, nil
	}
	if sniffed != declared {
		return "", errorf(goipp.StatusErrorDocumentFormatError, "document data is not %s", declared)
	}
	return declared, nil
}

// formatSupported reports whether f is in document-format-supported.
func formatSupported(f string) bool {
	for _, x := range documentFormats {
		if x == f {
			return true
		}
	}
	return false
}
