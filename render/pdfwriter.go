package render

import (
	"bufio"
	"compress/flate"
	"crypto/sha256"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// pdfWriter writes a PDF file front to back: objects are written as they
// are produced, only their offsets are kept, so memory grows with the
// number of objects, never with their content.
type pdfWriter struct {
	bw    *bufio.Writer
	n     int64   // bytes written so far
	offs  []int64 // offs[i] is the offset of object i; offs[0] unused
	pages []int   // object numbers of the pages, in order
	sizes []PageSize
	// cmyk is set once a DeviceCMYK image is written: the sRGB output
	// intent of PDF/A does not allow it, so such a document is not PDF/A.
	cmyk bool
	// pdfa is set by close when it made the document PDF/A-2b (XMP and
	// output intent added).
	pdfa bool
}

// Objects 1 and 2 are always the catalog and the page tree root.
const (
	catalogObj = 1
	pagesObj   = 2
)

// flateLevel trades speed for size for every Flate stream render writes.
var flateLevel = flate.BestSpeed

func newPDFWriter(w io.Writer) *pdfWriter {
	p := &pdfWriter{bw: bufio.NewWriterSize(w, 64<<10), offs: make([]int64, 3)}
	// The binary comment tells transfer tools the file is not text.
	p.printf("%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n")
	return p
}

func (p *pdfWriter) Write(b []byte) (int, error) {
	n, err := p.bw.Write(b)
	p.n += int64(n)
	return n, err
}

func (p *pdfWriter) printf(format string, a ...any) {
	fmt.Fprintf(p, format, a...)
}

// newObj reserves an object number.
func (p *pdfWriter) newObj() int {
	p.offs = append(p.offs, 0)
	return len(p.offs) - 1
}

// obj writes a complete non-stream object.
func (p *pdfWriter) obj(n int, body string) {
	p.offs[n] = p.n
	p.printf("%d 0 obj\n%s\nendobj\n", n, body)
}

// stream writes object n as a stream with the given dictionary entries;
// fill writes the (already encoded) data. The length is not known in
// advance, so it goes into an indirect object written right after.
func (p *pdfWriter) stream(n int, dict string, fill func(io.Writer) error) error {
	lenObj := p.newObj()
	if strings.Contains(dict, "/ColorSpace/DeviceCMYK") {
		p.cmyk = true
	}
	p.offs[n] = p.n
	p.printf("%d 0 obj\n<<%s/Length %d 0 R>>\nstream\n", n, dict, lenObj)
	start := p.n
	if err := fill(p); err != nil {
		return err
	}
	length := p.n - start
	p.printf("\nendstream\nendobj\n")
	p.obj(lenObj, strconv.FormatInt(length, 10))
	return p.bw.Flush()
}

// flateStream is stream with the data Flate-compressed on the way, on
// all CPUs.
func (p *pdfWriter) flateStream(n int, dict string, fill func(io.Writer) error) error {
	return p.stream(n, dict+"/Filter/FlateDecode", func(w io.Writer) error {
		zw := newPZWriter(w, flateLevel)
		if err := fill(zw); err != nil {
			zw.Close()
			return err
		}
		return zw.Close()
	})
}

// page writes a page object of the given size in points whose content
// stream is contents and whose resources dictionary is resources.
func (p *pdfWriter) page(size PageSize, resources string, contents int) {
	n := p.newObj()
	p.obj(n, fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 %s %s]/Resources%s/Contents %d 0 R>>",
		pagesObj, num(size.Width), num(size.Height), resources, contents))
	p.pages = append(p.pages, n)
	p.sizes = append(p.sizes, size)
}

// imagePage writes content stream number content, drawing image object
// img over the whole page, and a page of the given size showing it.
func (p *pdfWriter) imagePage(size PageSize, img, content int) error {
	ops := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(size.Width), num(size.Height))
	if err := p.stream(content, "", func(w io.Writer) error {
		_, err := io.WriteString(w, ops)
		return err
	}); err != nil {
		return err
	}
	p.page(size, fmt.Sprintf("<</XObject<</Im0 %d 0 R>>>>", img), content)
	return nil
}

// close writes the page tree, catalog (with the PDF/A-2b parts unless a
// CMYK image rules them out), information dictionary, cross-reference
// table and trailer, and flushes.
func (p *pdfWriter) close(meta Meta) error {
	var kids strings.Builder
	for i, n := range p.pages {
		if i > 0 {
			kids.WriteByte(' ')
		}
		fmt.Fprintf(&kids, "%d 0 R", n)
	}
	p.obj(pagesObj, fmt.Sprintf("<</Type/Pages/Count %d/Kids[%s]>>", len(p.pages), kids.String()))
	extra := ""
	if !p.cmyk {
		var err error
		if extra, err = p.pdfaParts(meta); err != nil {
			return err
		}
		p.pdfa = true
	}
	p.obj(catalogObj, fmt.Sprintf("<</Type/Catalog/Pages %d 0 R%s>>", pagesObj, extra))
	info := p.newObj()
	p.obj(info, infoDict(meta, nil))
	xref := p.n
	p.printf("xref\n0 %d\n0000000000 65535 f \n", len(p.offs))
	for _, off := range p.offs[1:] {
		p.printf("%010d 00000 n \n", off)
	}
	id := fileID(meta, p.n)
	p.printf("trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/ID[<%x><%x>]>>\nstartxref\n%d\n%%%%EOF\n",
		len(p.offs), catalogObj, info, id, id, xref)
	return p.bw.Flush()
}

// fileID derives the trailer's file identifier from the job metadata and
// the file length: stable for the same job, distinct between jobs.
func fileID(meta Meta, n int64) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %d %d", meta.Title, meta.Author, meta.Created.UnixNano(), n)
	return h.Sum(nil)[:16]
}

// num formats a PDF real number with at most 4 decimals.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
