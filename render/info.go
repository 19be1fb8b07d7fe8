package render

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Creator is the /Creator entry of every PDF render writes.
const Creator = "sealprint"

// Names of the custom information dictionary entries that record the job
// ticket.
const (
	InfoPageRanges = "SealprintPageRanges"
	InfoCopies     = "SealprintCopies"
	InfoSides      = "SealprintSides"
)

// infoDict returns a document information dictionary for meta. keep holds
// entries of an existing dictionary (already serialised values, keyed
// without the slash) that meta does not override.
func infoDict(meta Meta, keep map[string]string) string {
	entries := map[string]string{}
	for k, v := range keep {
		entries[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			entries[k] = pdfText(v)
		}
	}
	set("Title", meta.Title)
	set("Author", meta.Author)
	entries["Creator"] = pdfText(Creator)
	entries["CreationDate"] = pdfText(pdfDate(meta.Created))
	set(InfoPageRanges, meta.PageRanges)
	if meta.Copies > 0 {
		set(InfoCopies, strconv.Itoa(meta.Copies))
	}
	set(InfoSides, meta.Sides)

	var b strings.Builder
	b.WriteString("<<")
	// A fixed order keeps the output reproducible.
	for _, k := range []string{"Title", "Author", "Subject", "Keywords", "Creator", "Producer",
		"CreationDate", "ModDate", "Trapped", InfoPageRanges, InfoCopies, InfoSides} {
		if v, ok := entries[k]; ok {
			fmt.Fprintf(&b, "/%s %s", k, v)
			delete(entries, k)
		}
	}
	b.WriteString(">>")
	return b.String()
}

// pdfText encodes s as a PDF text string: a literal string when it is
// printable ASCII, UTF-16BE with a byte order mark otherwise.
func pdfText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
		return "(" + r.Replace(s) + ")"
	}
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// pdfDate formats t as a PDF date string (D:YYYYMMDDHHmmSS+HH'mm').
func pdfDate(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	if off == 0 {
		return t.Format("D:20060102150405") + "Z"
	}
	return fmt.Sprintf("%s%c%02d'%02d'", t.Format("D:20060102150405"), sign, off/3600, off%3600/60)
}
