package render

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// maxObjects bounds the object numbers of a PDF render rewrites the
// cross-reference data of (a header cannot make it allocate more).
const maxObjects = 8_000_000

// xrefEntry is one row of a cross-reference table: typ 0 free, 1 at
// offset a with generation b, 2 in object stream a at index b.
type xrefEntry struct {
	typ byte
	a   int64
	b   int64
}

// objectTable returns the cross-reference data pdfcpu read, after checking
// that every object really starts where the table says. ok is false when
// the table does not match the file (a damaged xref that pdfcpu repaired
// by other means).
func (d *pdfDoc) objectTable(rs io.ReadSeeker) ([]xrefEntry, bool) {
	x := d.ctx.XRefTable
	n := 0
	for nr := range x.Table {
		n = max(n, nr+1)
	}
	if x.Size != nil {
		n = max(n, *x.Size)
	}
	if n > maxObjects {
		return nil, false
	}
	table := make([]xrefEntry, n)
	head := make([]byte, 40)
	for nr, e := range x.Table {
		switch {
		case nr == 0 || e == nil || e.Free:
		case e.ObjectStream != nil && e.ObjectStreamInd != nil:
			// pdfcpu clears Compressed once it has expanded the stream.
			table[nr] = xrefEntry{typ: 2, a: int64(*e.ObjectStream), b: int64(*e.ObjectStreamInd)}
		case e.Offset != nil:
			off := *e.Offset + d.ctx.Read.RepairOffset
			gen := 0
			if e.Generation != nil {
				gen = *e.Generation
			}
			if _, err := rs.Seek(off, io.SeekStart); err != nil {
				return nil, false
			}
			m, _ := io.ReadFull(rs, head)
			if !objectStartsAt(head[:m], nr, gen) {
				return nil, false
			}
			table[nr] = xrefEntry{typ: 1, a: off, b: int64(gen)}
		}
	}
	return table, true
}

// objectStartsAt reports whether b begins with "nr gen obj".
func objectStartsAt(b []byte, nr, gen int) bool {
	b = bytes.TrimLeft(b, " \t\r\n\f\x00")
	want := strconv.Itoa(nr)
	if !bytes.HasPrefix(b, []byte(want)) {
		return false
	}
	f := bytes.Fields(b)
	return len(f) >= 3 && string(f[0]) == want && string(f[1]) == strconv.Itoa(gen) &&
		bytes.HasPrefix(f[2], []byte("obj"))
}

// writeUpdate copies the original file and appends an incremental update:
// a new information dictionary and a complete cross-reference section
// (a table, or a stream when the file uses object streams).
func (d *pdfDoc) writeUpdate(ctx context.Context, rs io.ReadSeeker, size int64, table []xrefEntry, out io.Writer, meta Meta) error {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("render pdf: %w", err)
	}
	pw := &pdfWriter{bw: bufio.NewWriterSize(out, 64<<10)}
	// The last byte tells whether the update needs a line break first.
	n, err := io.Copy(pw, &ctxReader{ctx: ctx, r: io.LimitReader(rs, size)})
	if err != nil {
		return fmt.Errorf("render pdf: copy: %w", err)
	}
	if n != size {
		return &FormatError{Format: FormatPDF, Msg: "file changed while reading"}
	}
	if _, err := rs.Seek(size-1, io.SeekStart); err == nil {
		var last [1]byte
		if _, err := io.ReadFull(rs, last[:]); err == nil && last[0] != '\n' && last[0] != '\r' {
			pw.printf("\n")
		}
	}

	x := d.ctx.XRefTable
	keep := map[string]string{}
	if x.Info != nil {
		if old, err := x.DereferenceDict(*x.Info); err == nil {
			for _, k := range []string{"Subject", "Keywords", "Producer", "ModDate", "Trapped"} {
				if v, ok := old[k]; ok && v != nil {
					keep[k] = v.PDFString()
				}
			}
		}
	}
	infoNr := len(table)
	table = append(table, xrefEntry{typ: 1, a: pw.n})
	pw.printf("%d 0 obj\n%s\nendobj\n", infoNr, infoDict(meta, keep))

	trailer := fmt.Sprintf("/Root %d %d R/Info %d 0 R", x.Root.ObjectNumber, x.Root.GenerationNumber, infoNr)
	if len(x.ID) == 2 {
		trailer += "/ID" + x.ID.PDFString()
	}
	compressed := false
	for _, e := range table {
		compressed = compressed || e.typ == 2
	}
	if !compressed {
		xref := pw.n
		pw.printf("xref\n0 %d\n", len(table))
		for i, e := range table {
			switch {
			case i == 0:
				pw.printf("0000000000 65535 f \n")
			case e.typ == 1:
				pw.printf("%010d %05d n \n", e.a, e.b)
			default:
				pw.printf("0000000000 00001 f \n")
			}
		}
		pw.printf("trailer\n<</Size %d%s>>\nstartxref\n%d\n%%%%EOF\n", len(table), trailer, xref)
		return pw.bw.Flush()
	}

	xrefNr := len(table)
	xref := pw.n
	table = append(table, xrefEntry{typ: 1, a: xref})
	var data bytes.Buffer
	zw := zlib.NewWriter(&data)
	var row [13]byte // type (1), field 2 (8), field 3 (4)
	for i, e := range table {
		row = [13]byte{}
		switch {
		case i == 0:
			binary.BigEndian.PutUint32(row[9:], 65535)
		case e.typ == 0:
			binary.BigEndian.PutUint32(row[9:], 1)
		default:
			row[0] = e.typ
			binary.BigEndian.PutUint64(row[1:], uint64(e.a))
			binary.BigEndian.PutUint32(row[9:], uint32(e.b))
		}
		zw.Write(row[:])
	}
	zw.Close()
	pw.printf("%d 0 obj\n<</Type/XRef/Size %d/W[1 8 4]%s/Filter/FlateDecode/Length %d>>\nstream\n",
		xrefNr, len(table), trailer, data.Len())
	pw.Write(data.Bytes())
	pw.printf("\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return pw.bw.Flush()
}
