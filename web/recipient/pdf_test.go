package recipient_test

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// samplePDF builds a small valid PDF report with the given number of
// pages, as a sender's printer would produce.
func samplePDF(pages int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// 1: catalog, 2: pages, 3: font, 4: bold font, then per page: page, content.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 5+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	lines := []string{
		"Service de médecine légale — Unité médico-judiciaire",
		"Réquisition n° 2026/1142 du 23 novembre 2026",
		"",
		"Examen d’une personne gardée à vue, à la demande de l’officier de police judiciaire.",
		"Constatations: aucune lésion traumatique récente visible.",
		"État compatible avec le maintien de la mesure de garde à vue.",
		"",
		"Document de test produit par la suite de tests de Sealprint.",
	}
	for p := 1; p <= pages; p++ {
		var c strings.Builder
		fmt.Fprintf(&c, "BT /F2 18 Tf 56 780 Td (%s) Tj ET\n", pdfString("Rapport médico-légal"))
		y := 740
		for _, l := range lines {
			fmt.Fprintf(&c, "BT /F1 11 Tf 56 %d Td (%s) Tj ET\n", y, pdfString(l))
			y -= 18
		}
		fmt.Fprintf(&c, "BT /F1 9 Tf 500 40 Td (Page %d / %d) Tj ET\n", p, pages)
		content := c.String()
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>", 6+2*(p-1)))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
	}
	obj("<< /Title (" + pdfString("Rapport médico-légal — réquisition 2026/1142") + ") /Producer (Sealprint tests) >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, len(offsets), xref)
	return b.Bytes()
}

// pdfString encodes s in WinAnsi and escapes it for a PDF literal string.
func pdfString(s string) string {
	s = strings.NewReplacer("’", "'", "—", "-").Replace(s)
	enc, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(enc)
}
