package render

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned (wrapped) when the document format is not one
// that render accepts.
var ErrUnsupported = errors.New("unsupported document format")

// FormatError reports a document that is corrupt, truncated or uses a
// feature render does not support. Truncated input wraps
// io.ErrUnexpectedEOF, so errors.Is(err, io.ErrUnexpectedEOF) holds.
type FormatError struct {
	Format string // MIME type being decoded
	Page   int    // 1-based page where the problem was found; 0 if not in a page
	Msg    string // what is wrong
	Err    error  // underlying cause, if any
}

func (e *FormatError) Error() string {
	s := "render " + e.Format
	if e.Page > 0 {
		s += fmt.Sprintf(" page %d", e.Page)
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

// LimitError reports an input that exceeds one of the Limits (image
// dimensions, page count, document size). It is returned before any large
// allocation is made.
type LimitError struct {
	Format string // MIME type being decoded
	What   string // which limit: "width", "height", "pixels", "pages", "bytes", …
	Value  int64  // the value found in the input
	Max    int64  // the configured limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("render %s: %s %d exceeds the limit of %d", e.Format, e.What, e.Value, e.Max)
}
