// Package render turns a print job's document (PDF, PWG raster, Apple
// raster, JPEG, PNG or plain text) into the one PDF a recipient gets. It
// streams: rasters are converted page by page with bounded memory, and
// nothing is ever written to disk.
package render

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
)

// MIME types of the formats render accepts.
const (
	FormatPDF         = "application/pdf"
	FormatPWG         = "image/pwg-raster"
	FormatURF         = "image/urf"
	FormatJPEG        = "image/jpeg"
	FormatPNG         = "image/png"
	FormatText        = "text/plain"
	FormatOctetStream = "application/octet-stream"
	FormatPostScript  = "application/postscript" // recognised by Sniff, not accepted
)

// Formats lists the document formats ToPDF accepts, in order of preference.
var Formats = []string{FormatPDF, FormatPWG, FormatURF, FormatJPEG, FormatPNG, FormatText}

// Meta is what the output PDF records about the job: the document
// information dictionary gets Title, Author, Creator "sealprint" and the
// creation date, and the job ticket's page ranges, copies and sides are
// recorded as custom entries rather than silently dropped.
type Meta struct {
	Title   string    // job name
	Author  string    // sender
	Created time.Time // job creation time; zero means "now"

	PageRanges string // job ticket page-ranges as asked ("1-3,7"); empty if none
	Copies     int    // job ticket copies; 0 if not given
	Sides      string // job ticket sides ("one-sided", "two-sided-long-edge", …)
}

// PageSize is the size of one output page in PDF points (1/72 inch).
type PageSize struct {
	Width, Height float64
}

// Info describes the PDF that ToPDF wrote.
type Info struct {
	Format    string     // detected or given input format (MIME type)
	Pages     int        // number of pages
	PageSizes []PageSize // size of each page (for PDF input, the first MaxPageSizes pages)
	Encrypted bool       // PDF input was encrypted; passed through without metadata changes
	// PDFA is true when render made the document as PDF/A-2b: embedded
	// fonts (text), XMP metadata, sRGB output intent. False means unknown:
	// PDF input is passed through as it came, and pages with CMYK images
	// cannot carry the sRGB intent.
	PDFA bool
}

// Limits bound what a document may ask of the renderer. Every limit is
// checked before the allocation it guards.
type Limits struct {
	MaxWidth    int   // raster width in pixels
	MaxHeight   int   // raster height in pixels
	MaxPixels   int64 // width × height of one image (JPEG, PNG); a PNG is decoded whole
	MaxPages    int   // pages per document
	MaxPDFBytes int64 // PDF input held in memory when the input cannot seek
	MaxImage    int64 // encoded JPEG/PNG input size in bytes
	MaxLine     int   // bytes of one raster line
}

// DefaultLimits are the limits ToPDF uses: room for 1200 dpi A3 rasters
// (streamed, any number of rows in constant memory), 100 000-page
// documents and 40-megapixel images (a PNG is decoded whole: at most
// 320 MB for 16-bit RGBA).
var DefaultLimits = Limits{
	MaxWidth:    20000,
	MaxHeight:   30000,
	MaxPixels:   40_000_000,
	MaxPages:    100_000,
	MaxPDFBytes: 512 << 20,
	MaxImage:    256 << 20,
	MaxLine:     20000 * 8,
}

// MaxPageSizes caps Info.PageSizes for PDF input.
const MaxPageSizes = 10000

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	pick64 := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&l.MaxWidth, d.MaxWidth)
	pick(&l.MaxHeight, d.MaxHeight)
	pick64(&l.MaxPixels, d.MaxPixels)
	pick(&l.MaxPages, d.MaxPages)
	pick64(&l.MaxPDFBytes, d.MaxPDFBytes)
	pick64(&l.MaxImage, d.MaxImage)
	pick(&l.MaxLine, d.MaxLine)
	return l
}

// Renderer converts documents to PDF under the given Limits; a zero field
// takes its value from DefaultLimits.
type Renderer struct {
	Limits Limits
	// Now returns the current time for Meta.Created when it is zero;
	// nil means time.Now.
	Now func() time.Time
}

// ToPDF converts the document read from in, of the given MIME type, to PDF
// written to out, with DefaultLimits. A format of "" or
// "application/octet-stream" is sniffed from the first bytes (see Sniff).
//
// Rasters, images and text are converted as they are read, page by page,
// in bounded memory. PDF input needs random access: in is used as is when
// it is an io.ReadSeeker positioned at its start, otherwise it is held in
// memory up to Limits.MaxPDFBytes. Nothing is ever written to disk.
//
// Errors are *FormatError (corrupt, truncated or unsupported content),
// *LimitError (too large), ErrUnsupported (wrapped; not an accepted
// format) or the context's error. On error, out may already hold part of
// a PDF: the caller must discard it.
func ToPDF(ctx context.Context, format string, in io.Reader, out io.Writer, meta Meta) (Info, error) {
	var r Renderer
	return r.ToPDF(ctx, format, in, out, meta)
}

// ToPDF converts the document read from in to PDF written to out; see the
// package-level ToPDF.
func (r *Renderer) ToPDF(ctx context.Context, format string, in io.Reader, out io.Writer, meta Meta) (Info, error) {
	lim := r.Limits.withDefaults()
	if meta.Created.IsZero() {
		if r.Now != nil {
			meta.Created = r.Now()
		} else {
			meta.Created = time.Now()
		}
	}
	f := normalizeFormat(format)
	if f == "" || f == FormatOctetStream {
		br := bufio.NewReaderSize(in, sniffLen)
		head, _ := br.Peek(sniffLen)
		f = Sniff(head)
		if f == "" {
			return Info{}, fmt.Errorf("render: %w: content not recognised", ErrUnsupported)
		}
		in = readSeekerOr(in, br)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	var (
		info Info
		err  error
	)
	switch f {
	case FormatPDF:
		info, err = pdfToPDF(ctx, in, out, meta, lim)
	case FormatPWG:
		info, err = rasterToPDF(ctx, f, newPWGDecoder(in, lim), out, meta, lim)
	case FormatURF:
		info, err = rasterToPDF(ctx, f, newURFDecoder(in, lim), out, meta, lim)
	case FormatJPEG:
		info, err = jpegToPDF(ctx, in, out, meta, lim)
	case FormatPNG:
		info, err = pngToPDF(ctx, in, out, meta, lim)
	case FormatText:
		info, err = textToPDF(ctx, in, out, meta, lim, singleByteCharset(format))
	default:
		return Info{}, fmt.Errorf("render %s: %w", f, ErrUnsupported)
	}
	info.Format = f
	return info, err
}

// normalizeFormat lower-cases a MIME type and drops its parameters
// ("text/plain; charset=utf-8" → "text/plain"). Common aliases map to the
// canonical names.
func normalizeFormat(format string) string {
	format = strings.TrimSpace(format)
	if format == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(format); err == nil {
		format = mt
	}
	format = strings.ToLower(format)
	switch format {
	case "image/urf", "image/x-urf", "image/apple-raster":
		return FormatURF
	case "image/pjpeg", "image/jpg":
		return FormatJPEG
	}
	return format
}

// singleByteCharset reports whether a text MIME type declares a Latin-1
// family charset, whose bytes must not be read as UTF-8.
func singleByteCharset(format string) bool {
	_, params, err := mime.ParseMediaType(format)
	if err != nil {
		return false
	}
	switch strings.ToLower(params["charset"]) {
	case "iso-8859-1", "latin1", "iso_8859-1", "l1", "windows-1252", "cp1252", "iso-8859-15", "us-ascii":
		return true
	}
	return false
}

// readSeekerOr returns the original reader when it can seek (so PDF input
// need not be buffered) after rewinding it past the sniffing; otherwise the
// buffered reader that holds the sniffed bytes.
func readSeekerOr(orig io.Reader, br *bufio.Reader) io.Reader {
	if rs, ok := orig.(io.ReadSeeker); ok {
		// Peek read at most one buffer: rewind by what is still buffered.
		if _, err := rs.Seek(-int64(br.Buffered()), io.SeekCurrent); err == nil {
			return rs
		}
	}
	return br
}
