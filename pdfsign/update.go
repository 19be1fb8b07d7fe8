package pdfsign

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// document is what Sign needs to know of the PDF it appends to.
type document struct {
	size      int64 // bytes of the original
	prevXref  int64 // offset of its last cross-reference section
	xrefStm   bool  // that section is a cross-reference stream
	nextObj   int   // first free object number
	rootRef   types.IndirectRef
	root      types.Dict
	acroRef   *types.IndirectRef // the catalog's /AcroForm when indirect
	acro      types.Dict         // the interactive form (nil: none)
	pageRef   types.IndirectRef  // the page the widget goes on
	page      types.Dict
	pageCount int
	trailer   string // /Root, /Info and /ID entries to repeat
}

// readDocument reads the structure of the PDF in rs (size bytes) with
// pdfcpu. The widget goes on pageNr (1-based; 0 means the first page).
func readDocument(rs io.ReadSeeker, size int64, pageNr int) (doc *document, err error) {
	defer func() {
		// pdfcpu is not hardened against every malformed input.
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("unreadable PDF (%v)", r)
		}
	}()
	prev, err := lastStartXref(rs, size)
	if err != nil {
		return nil, err
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(rs, conf)
	if err != nil {
		return nil, fmt.Errorf("unreadable PDF: %w", err)
	}
	if ctx.Encrypt != nil {
		return nil, fmt.Errorf("encrypted PDF: signing it is not supported")
	}
	if ctx.Read.RepairOffset != 0 {
		return nil, fmt.Errorf("damaged PDF (object offsets are shifted): repair it first")
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("page tree: %w", err)
	}
	x := ctx.XRefTable
	if x.Root == nil || ctx.PageCount == 0 {
		return nil, fmt.Errorf("PDF without catalog or pages")
	}
	if pageNr <= 0 {
		pageNr = 1
	}
	if pageNr > ctx.PageCount {
		return nil, fmt.Errorf("page %d does not exist (%d pages)", pageNr, ctx.PageCount)
	}
	d := &document{size: size, prevXref: prev, xrefStm: ctx.Read.UsingXRefStreams, rootRef: *x.Root, pageCount: ctx.PageCount}
	for nr := range x.Table {
		d.nextObj = max(d.nextObj, nr+1)
	}
	if x.Size != nil {
		d.nextObj = max(d.nextObj, *x.Size)
	}
	if d.root, err = x.DereferenceDict(*x.Root); err != nil || d.root == nil {
		return nil, fmt.Errorf("catalog: %v", err)
	}
	if p := docMDP(x, d.root); p == 1 {
		return nil, fmt.Errorf("the document is certified with no changes allowed (DocMDP P=1): another signature would break it")
	}
	if o, ok := d.root.Find("AcroForm"); ok && o != nil {
		if ref, ok := o.(types.IndirectRef); ok {
			d.acroRef = &ref
		}
		if d.acro, err = x.DereferenceDict(o); err != nil {
			return nil, fmt.Errorf("interactive form: %w", err)
		}
		if d.acro != nil {
			// Fields may be an indirect array: Sign writes it inline.
			if f, ok := d.acro.Find("Fields"); ok {
				arr, err := x.DereferenceArray(f)
				if err != nil {
					return nil, fmt.Errorf("form fields: %w", err)
				}
				d.acro["Fields"] = arr
			}
		}
	}
	page, ref, _, err := x.PageDict(pageNr, false)
	if err != nil || ref == nil {
		return nil, fmt.Errorf("page %d: %v", pageNr, err)
	}
	d.page, d.pageRef = page, *ref
	if a, ok := d.page.Find("Annots"); ok {
		arr, err := x.DereferenceArray(a)
		if err != nil {
			return nil, fmt.Errorf("page annotations: %w", err)
		}
		d.page["Annots"] = arr
	}
	d.trailer = fmt.Sprintf("/Root %d %d R", x.Root.ObjectNumber, x.Root.GenerationNumber)
	if x.Info != nil {
		d.trailer += fmt.Sprintf("/Info %d %d R", x.Info.ObjectNumber, x.Info.GenerationNumber)
	}
	if len(x.ID) == 2 {
		d.trailer += "/ID" + x.ID.PDFString()
	}
	return d, nil
}

// lastStartXref reads the offset after the last startxref keyword.
func lastStartXref(rs io.ReadSeeker, size int64) (int64, error) {
	tail := min(size, 2048)
	if _, err := rs.Seek(size-tail, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, tail)
	if _, err := io.ReadFull(rs, buf); err != nil {
		return 0, err
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, fmt.Errorf("no startxref at the end of the PDF")
	}
	rest := bytes.TrimLeft(buf[i+len("startxref"):], " \r\n\t")
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	off, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil || off <= 0 || off >= size {
		return 0, fmt.Errorf("bad startxref offset")
	}
	return off, nil
}

// update is an incremental update being built: objects appended after the
// original's size bytes.
type update struct {
	base    int64 // offset of the update's first byte in the output file
	buf     bytes.Buffer
	offsets map[int]int64 // object number → offset in the file
	gens    map[int]int
}

func newUpdate(d *document) *update {
	u := &update{base: d.size, offsets: map[int]int64{}, gens: map[int]int{}}
	return u
}

func (u *update) printf(format string, a ...any) { fmt.Fprintf(&u.buf, format, a...) }

// object writes object nr (generation gen) with body.
func (u *update) object(nr, gen int, body string) {
	u.offsets[nr] = u.base + int64(u.buf.Len())
	u.gens[nr] = gen
	u.printf("%d %d obj\n%s\nendobj\n", nr, gen, body)
}

// replace writes a new version of the object ref names.
func (u *update) replace(ref types.IndirectRef, body string) {
	u.object(int(ref.ObjectNumber), int(ref.GenerationNumber), body)
}

// finish writes the cross-reference section and trailer, in the form of
// the original's last section (a table or a stream), chained to it.
func (u *update) finish(d *document, size int) {
	nrs := make([]int, 0, len(u.offsets)+1)
	for nr := range u.offsets {
		nrs = append(nrs, nr)
	}
	if !d.xrefStm {
		sort.Ints(nrs)
		xref := u.base + int64(u.buf.Len())
		u.printf("xref\n")
		for _, nr := range nrs {
			u.printf("%d 1\n%010d %05d n \n", nr, u.offsets[nr], u.gens[nr])
		}
		u.printf("trailer\n<</Size %d%s/Prev %d>>\nstartxref\n%d\n%%%%EOF\n", size, d.trailer, d.prevXref, xref)
		return
	}
	xrefNr := size
	size++
	xref := u.base + int64(u.buf.Len())
	u.offsets[xrefNr] = xref
	nrs = append(nrs, xrefNr)
	sort.Ints(nrs)
	var index, data bytes.Buffer
	for _, nr := range nrs {
		fmt.Fprintf(&index, "%d 1 ", nr)
		off := u.offsets[nr]
		gen := u.gens[nr]
		data.Write([]byte{1, byte(off >> 56), byte(off >> 48), byte(off >> 40), byte(off >> 32),
			byte(off >> 24), byte(off >> 16), byte(off >> 8), byte(off), byte(gen >> 8), byte(gen)})
	}
	u.printf("%d 0 obj\n<</Type/XRef/Size %d%s/Prev %d/Index[%s]/W[1 8 2]/Length %d>>\nstream\n",
		xrefNr, size, d.trailer, d.prevXref, bytes.TrimSpace(index.Bytes()), data.Len())
	u.buf.Write(data.Bytes())
	u.printf("\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
}

// docMDP returns the permissions (/P: 1 no changes, 2 form filling and
// signing, 3 annotations too) of the document's certification signature,
// or 0 when it has none.
func docMDP(x *model.XRefTable, root types.Dict) int {
	perms, err := x.DereferenceDict(root["Perms"])
	if err != nil || perms == nil {
		return 0
	}
	sig, err := x.DereferenceDict(perms["DocMDP"])
	if err != nil || sig == nil {
		return 0
	}
	refs, err := x.DereferenceArray(sig["Reference"])
	if err != nil {
		return 0
	}
	for _, r := range refs {
		ref, err := x.DereferenceDict(r)
		if err != nil || ref == nil {
			continue
		}
		if m, _ := ref["TransformMethod"].(types.Name); m != "DocMDP" {
			continue
		}
		params, err := x.DereferenceDict(ref["TransformParams"])
		if err != nil || params == nil {
			return 2 // the default
		}
		if p, ok := params["P"].(types.Integer); ok {
			return int(p)
		}
		return 2
	}
	return 0
}
