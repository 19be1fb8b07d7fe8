package render

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// srgbProfile is the sRGB ICC profile of Debian's icc-profiles-free (zlib
// licence, assets/): the output intent of the PDF/A documents render
// creates.
//
//go:embed assets/sRGB.icc
var srgbProfile []byte

// pdfaParts writes the objects a PDF/A-2b catalog refers to — the XMP
// metadata (matching the information dictionary) and the sRGB output
// intent — and returns the catalog entries that name them.
func (p *pdfWriter) pdfaParts(meta Meta) (string, error) {
	icc, md := p.newObj(), p.newObj()
	if err := p.flateStream(icc, "/N 3", func(w io.Writer) error {
		_, err := w.Write(srgbProfile)
		return err
	}); err != nil {
		return "", err
	}
	x := xmpPacket(meta)
	// PDF/A wants the metadata stream unfiltered, so tools can read it.
	if err := p.stream(md, "/Type/Metadata/Subtype/XML", func(w io.Writer) error {
		_, err := io.WriteString(w, x)
		return err
	}); err != nil {
		return "", err
	}
	return fmt.Sprintf("/Metadata %d 0 R/OutputIntents[<</Type/OutputIntent/S/GTS_PDFA1/OutputConditionIdentifier(sRGB IEC61966-2.1)/Info(sRGB IEC61966-2.1)/DestOutputProfile %d 0 R>>]", md, icc), nil
}

// xmpPacket is the document's XMP metadata: PDF/A-2b identification,
// title, author and dates, the same as in the information dictionary.
func xmpPacket(meta Meta) string {
	esc := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '<':
				b.WriteString("&lt;")
			case r == '>':
				b.WriteString("&gt;")
			case r == '&':
				b.WriteString("&amp;")
			case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xfffe, r == 0xffff:
				b.WriteByte(' ') // not allowed in XML
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	date := xmpDate(meta.Created)
	var b strings.Builder
	b.WriteString("<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n" +
		"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n" +
		"<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"" +
		" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n" +
		"<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n")
	if meta.Title != "" {
		fmt.Fprintf(&b, "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">%s</rdf:li></rdf:Alt></dc:title>\n", esc(meta.Title))
	}
	if meta.Author != "" {
		fmt.Fprintf(&b, "<dc:creator><rdf:Seq><rdf:li>%s</rdf:li></rdf:Seq></dc:creator>\n", esc(meta.Author))
	}
	fmt.Fprintf(&b, "<xmp:CreatorTool>%s</xmp:CreatorTool>\n<xmp:CreateDate>%s</xmp:CreateDate>\n<xmp:MetadataDate>%s</xmp:MetadataDate>\n",
		Creator, date, date)
	b.WriteString("</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n")
	// Room to edit in place, as the XMP specification suggests.
	b.WriteString(strings.Repeat(strings.Repeat(" ", 99)+"\n", 20))
	b.WriteString("<?xpacket end=\"w\"?>")
	return b.String()
}

// xmpDate is t in the XMP date format, in the same zone as the
// information dictionary's date (pdfDate).
func xmpDate(t time.Time) string {
	if _, off := t.Zone(); off == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

// utf16Of is r in UTF-16 code units.
func utf16Of(r rune) []uint16 { return utf16.Encode([]rune{r}) }
