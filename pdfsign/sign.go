package pdfsign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// DefaultMaxInput bounds the PDF Sign reads unless Options says otherwise.
const DefaultMaxInput = 512 << 20

// Options says how Sign signs.
type Options struct {
	// Reason and Location fill /Reason and /Location (optional).
	Reason, Location string
	// ContactInfo fills /ContactInfo (optional).
	ContactInfo string
	// TSA, when set, makes the signature B-T: Sign fails with a *TSAError
	// rather than return a signature without a timestamp.
	TSA *TSA
	// Visible draws the signature on Page (default the first) in Rect
	// (default a 240×60 pt box at the bottom left); otherwise the field
	// is invisible.
	Visible bool
	Page    int
	Rect    [4]float64
	// Now gives the claimed signing time (/M); nil means time.Now.
	Now func() time.Time
	// MaxInput bounds the input PDF; 0 means DefaultMaxInput.
	MaxInput int64
}

// Result describes a signature Sign made.
type Result struct {
	// Signer is the signer's name from its certificate.
	Signer string
	// Level is "B-B", or "B-T" with a timestamp.
	Level string
	// Size is the number of bytes written.
	Size int64
}

// byteRangeWidth is the room for each number of the /ByteRange array.
const byteRangeWidth = 10

// Sign writes to out the PDF read from in followed by an incremental
// update carrying a PAdES signature by id. in is read twice (structure,
// then bytes); out receives the original bytes before the key or the TSA
// is asked, so a failed Sign leaves a partial out: write to a temporary
// file and keep it only on success.
func Sign(ctx context.Context, out io.Writer, in io.ReadSeeker, id *Identity, opts Options) (*Result, error) {
	if err := id.check(); err != nil {
		return nil, err
	}
	size, err := in.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("size of the PDF: %w", err)
	}
	maxIn := opts.MaxInput
	if maxIn <= 0 {
		maxIn = DefaultMaxInput
	}
	if size > maxIn {
		return nil, fmt.Errorf("PDF of %d bytes is larger than the %d allowed", size, maxIn)
	}
	page := 1
	if opts.Visible && opts.Page > 0 {
		page = opts.Page
	}
	doc, err := readDocument(in, size, page)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	reserve := 4096
	for _, c := range id.Chain {
		reserve += len(c.Raw)
	}
	if opts.TSA != nil {
		reserve += tsaReserve
	}
	u, holeStart, holeEnd, brAt := buildUpdate(doc, id, opts, now(), reserve*2, endsWithEOL(in, size))

	// Fill in the byte range now: it is known before the digest.
	total := size + int64(u.Len())
	br := [4]int64{0, size + int64(holeStart), size + int64(holeEnd), total - size - int64(holeEnd)}
	brText := fmt.Sprintf("%d %d %d %d", br[0], br[1], br[2], br[3])
	field := u.Bytes()[brAt : brAt+4*byteRangeWidth+3]
	copy(field, brText+string(bytes.Repeat([]byte(" "), len(field)-len(brText))))

	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(in, size))
	if err != nil {
		return nil, fmt.Errorf("copy the PDF: %w", err)
	}
	if n != size {
		return nil, errors.New("the PDF changed while it was being signed")
	}
	up := u.Bytes()
	h.Write(up[:holeStart])
	h.Write(up[holeEnd:])
	attrs := signedAttributes(h.Sum(nil), id.Certificate())
	sig, err := signerSignature(id, attrs)
	if err != nil {
		return nil, err
	}
	var token []byte
	level := "B-B"
	if opts.TSA != nil {
		if token, err = opts.TSA.stamp(ctx, sig); err != nil {
			return nil, err
		}
		level = "B-T"
	}
	cms, err := signedData(id, attrs, sig, token)
	if err != nil {
		return nil, fmt.Errorf("build the CMS signature: %w", err)
	}
	if hex.EncodedLen(len(cms)) > holeEnd-holeStart-2 {
		return nil, fmt.Errorf("signature of %d bytes does not fit the %d reserved", len(cms), (holeEnd-holeStart-2)/2)
	}
	hex.Encode(up[holeStart+1:], cms)
	if _, err := out.Write(up); err != nil {
		return nil, fmt.Errorf("write the signature: %w", err)
	}
	return &Result{Signer: id.Name(), Level: level, Size: total}, nil
}

func endsWithEOL(rs io.ReadSeeker, size int64) bool {
	var last [1]byte
	if _, err := rs.Seek(size-1, io.SeekStart); err != nil {
		return false
	}
	if _, err := io.ReadFull(rs, last[:]); err != nil {
		return false
	}
	return last[0] == '\n' || last[0] == '\r'
}

// buildUpdate writes the incremental update: the signature dictionary
// with a /Contents hole of contentsHex zeros, the widget (field and
// annotation in one), its appearance, and new versions of the catalog
// (with the form) and of the page (with the widget). It returns the
// buffer, the hole's bounds (from '<' to after '>') and where the
// /ByteRange numbers go, all relative to the update's first byte.
func buildUpdate(doc *document, id *Identity, opts Options, now time.Time, contentsHex int, eol bool) (*bytes.Buffer, int, int, int) {
	u := newUpdate(doc)
	if !eol {
		u.printf("\n")
	}
	sigNr, widgetNr, apNr := doc.nextObj, doc.nextObj+1, doc.nextObj+2
	size := doc.nextObj + 3

	// Signature dictionary.
	u.offsets[sigNr] = u.base + int64(u.buf.Len())
	u.gens[sigNr] = 0
	u.printf("%d 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange[", sigNr)
	brAt := u.buf.Len()
	u.buf.Write(bytes.Repeat([]byte(" "), 4*byteRangeWidth+3))
	u.printf("]/Contents")
	holeStart := u.buf.Len()
	u.printf("<%s>", bytes.Repeat([]byte("0"), contentsHex))
	holeEnd := u.buf.Len()
	u.printf("/M%s", pdfText(pdfDate(now)))
	if name := id.Name(); name != "" {
		u.printf("/Name%s", pdfText(name))
	}
	for _, kv := range [][2]string{{"Reason", opts.Reason}, {"Location", opts.Location}, {"ContactInfo", opts.ContactInfo}} {
		if kv[1] != "" {
			u.printf("/%s%s", kv[0], pdfText(kv[1]))
		}
	}
	u.printf(">>\nendobj\n")

	// Widget and appearance.
	rect := [4]float64{}
	var ap string
	if opts.Visible {
		rect = opts.Rect
		if rect == ([4]float64{}) {
			rect = [4]float64{36, 36, 276, 96}
		}
		ap = visibleAppearance(id.Name(), now, rect[2]-rect[0], rect[3]-rect[1])
	}
	fieldName := fmt.Sprintf("Signature%d", sigNr)
	u.object(widgetNr, 0, fmt.Sprintf("<</Type/Annot/Subtype/Widget/FT/Sig/T%s/V %d 0 R/F 132/Rect[%s %s %s %s]/P %d %d R/AP<</N %d 0 R>>>>",
		pdfText(fieldName), sigNr, num(rect[0]), num(rect[1]), num(rect[2]), num(rect[3]),
		doc.pageRef.ObjectNumber, doc.pageRef.GenerationNumber, apNr))
	// An invisible field's appearance is empty and names no font, so a
	// PDF/A document stays PDF/A; the visible one uses the standard
	// Helvetica, which is not embedded (see docs/pdf-signature.md).
	res := ""
	if opts.Visible {
		res = "/Resources<</Font<</Helv<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>>>>>"
	}
	u.object(apNr, 0, fmt.Sprintf("<</Type/XObject/Subtype/Form/BBox[0 0 %s %s]%s/Length %d>>\nstream\n%s\nendstream",
		num(rect[2]-rect[0]), num(rect[3]-rect[1]), res, len(ap), ap))

	widget := *types.NewIndirectRef(widgetNr, 0)
	page := doc.page.Clone().(types.Dict)
	annots, _ := page["Annots"].(types.Array)
	page["Annots"] = append(append(types.Array{}, annots...), widget)
	u.replace(doc.pageRef, page.PDFString())

	acro := types.Dict{}
	if doc.acro != nil {
		acro = doc.acro.Clone().(types.Dict)
	}
	fields, _ := acro["Fields"].(types.Array)
	acro["Fields"] = append(append(types.Array{}, fields...), widget)
	acro["SigFlags"] = types.Integer(3)
	root := doc.root.Clone().(types.Dict)
	if doc.acroRef != nil {
		u.replace(*doc.acroRef, acro.PDFString())
	} else {
		root["AcroForm"] = acro
		u.replace(doc.rootRef, root.PDFString())
	}
	u.finish(doc, size)
	return &u.buf, holeStart, holeEnd, brAt
}
