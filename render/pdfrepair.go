package render

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

var (
	objHeaderRe = regexp.MustCompile(`(?m)(?:^|[\r\n])[ \t]*(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+obj\b`)
	rootRefRe   = regexp.MustCompile(`/Root[ \t\r\n]*(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+R`)
	infoRefRe   = regexp.MustCompile(`/Info[ \t\r\n]*(\d{1,10})[ \t\r\n]+(\d{1,5})[ \t\r\n]+R`)
	catalogRe   = regexp.MustCompile(`/Type[ \t\r\n]*/Catalog\b`)
)

// repairXRef rebuilds the cross-reference data of a PDF whose xref is
// damaged, the way viewers do: it scans the file for object headers (a
// later definition of an object wins, as in incremental updates) and finds
// the catalog from the last trailer or by its /Type. It returns the
// original bytes followed by a fresh cross-reference table and trailer, so
// nothing of the document is altered. Objects inside object streams are
// not recovered.
func repairXRef(rs io.ReadSeeker, size int64) ([]byte, error) {
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data := make([]byte, size, size+4096)
	if _, err := io.ReadFull(rs, data); err != nil {
		return nil, err
	}
	start := bytes.Index(data, []byte("%PDF-"))
	if start < 0 {
		return nil, fmt.Errorf("no PDF header")
	}
	type ent struct{ off, gen int64 }
	objs := map[int64]ent{}
	maxNr := int64(0)
	for _, m := range objHeaderRe.FindAllSubmatchIndex(data, -1) {
		nr, _ := strconv.ParseInt(string(data[m[2]:m[3]]), 10, 64)
		gen, _ := strconv.ParseInt(string(data[m[4]:m[5]]), 10, 64)
		if nr <= 0 || nr >= maxObjects {
			continue
		}
		objs[nr] = ent{off: int64(m[2]), gen: gen}
		maxNr = max(maxNr, nr)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no objects found")
	}
	var root, info string
	if ms := rootRefRe.FindAllSubmatch(data, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		root = fmt.Sprintf("%s %s R", m[1], m[2])
	} else {
		// The catalog object is the last one declaring /Type/Catalog.
		locs := catalogRe.FindAllIndex(data, -1)
		if len(locs) == 0 {
			return nil, fmt.Errorf("no document catalog")
		}
		at := int64(locs[len(locs)-1][0])
		best := int64(-1)
		for nr, e := range objs {
			if e.off < at && (best < 0 || e.off > objs[best].off) {
				best = nr
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("no document catalog")
		}
		root = fmt.Sprintf("%d %d R", best, objs[best].gen)
	}
	if ms := infoRefRe.FindAllSubmatch(data, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		info = fmt.Sprintf("/Info %s %s R", m[1], m[2])
	}
	b := bytes.NewBuffer(data)
	if data[len(data)-1] != '\n' && data[len(data)-1] != '\r' {
		b.WriteByte('\n')
	}
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 %d\n0000000000 65535 f \n", maxNr+1)
	for nr := int64(1); nr <= maxNr; nr++ {
		if e, ok := objs[nr]; ok {
			fmt.Fprintf(b, "%010d %05d n \n", e.off, e.gen)
		} else {
			b.WriteString("0000000000 00001 f \n")
		}
	}
	fmt.Fprintf(b, "trailer\n<</Size %d/Root %s%s>>\nstartxref\n%d\n%%%%EOF\n", maxNr+1, root, info, xref)
	return b.Bytes(), nil
}
