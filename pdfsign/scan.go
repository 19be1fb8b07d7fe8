package pdfsign

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Bounds on what the verifier reads from a file.
const (
	maxSignatures = 64      // signature dictionaries looked at per file
	maxHole       = 1 << 20 // bytes of one /Contents hole
	dictWindow    = 8 << 10 // bytes around a hole searched for the dictionary's keys
	scanChunk     = 1 << 20
)

// sigDict is one signature dictionary found in a file: its byte range, the
// decoded /Contents and the informative keys.
type sigDict struct {
	byteRange [4]int64
	contents  []byte
	subFilter string
	name      string
	reason    string
	location  string
	claimed   string // /M as written
}

// findSignatures scans r for /ByteRange arrays and reads the signature
// dictionary around each. The scan does not trust the file's structure: a
// signature is only what its byte range and hole prove (see Verify).
func findSignatures(r io.ReaderAt, size int64) ([]sigDict, error) {
	key := []byte("/ByteRange")
	var found []sigDict
	buf := make([]byte, scanChunk+len(key))
	for off := int64(0); off < size; off += scanChunk {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		chunk := buf[:n]
		for i := 0; ; {
			j := bytes.Index(chunk[i:], key)
			if j < 0 || i+j >= scanChunk {
				break
			}
			pos := off + int64(i+j)
			i += j + len(key)
			d, ok := readSigDict(r, size, pos)
			if !ok {
				continue
			}
			if len(found) == maxSignatures {
				return nil, fmt.Errorf("more than %d signatures", maxSignatures)
			}
			found = append(found, d)
		}
	}
	return found, nil
}

// readSigDict reads the dictionary whose /ByteRange key is at pos. ok is
// false when what follows is not a usable byte range with a /Contents
// hex string exactly in its hole.
func readSigDict(r io.ReaderAt, size, pos int64) (sigDict, bool) {
	var d sigDict
	head := make([]byte, 128)
	n, _ := r.ReadAt(head, pos)
	p := &lexer{b: head[:n], i: len("/ByteRange")}
	p.space()
	if !p.byte('[') {
		return d, false
	}
	for k := range d.byteRange {
		p.space()
		v, ok := p.int()
		if !ok {
			return d, false
		}
		d.byteRange[k] = v
	}
	p.space()
	if !p.byte(']') {
		return d, false
	}
	br := d.byteRange
	if br[0] != 0 || br[1] <= 0 || br[2] <= br[1]+1 || br[3] < 0 || br[2] > size || br[3] > size-br[2] || br[2]-br[1] > maxHole {
		return d, false
	}
	// The key and the hole belong to one dictionary: close to each other.
	if pos < br[1]-dictWindow || pos > br[2]+dictWindow {
		return d, false
	}
	hole := make([]byte, br[2]-br[1])
	if _, err := r.ReadAt(hole, br[1]); err != nil {
		return d, false
	}
	if hole[0] != '<' || hole[len(hole)-1] != '>' {
		return d, false
	}
	digits := make([]byte, 0, len(hole))
	for _, c := range hole[1 : len(hole)-1] {
		if !isSpace(c) {
			digits = append(digits, c)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	d.contents = make([]byte, len(digits)/2)
	if _, err := hex.Decode(d.contents, digits); err != nil {
		return d, false
	}
	// The key right before the hole must be /Contents.
	before := make([]byte, min(br[1], 64))
	r.ReadAt(before, br[1]-int64(len(before)))
	if !bytes.HasSuffix(bytes.TrimRight(before, " \t\r\n\f\x00"), []byte("/Contents")) {
		return d, false
	}
	// The informative keys: the text around the hole, without it.
	lo := max(0, min(pos, br[1])-dictWindow)
	around := make([]byte, br[1]-lo)
	r.ReadAt(around, lo)
	if i := bytes.LastIndex(around, []byte(" obj")); i >= 0 {
		around = around[i:]
	}
	after := make([]byte, min(dictWindow, size-br[2]))
	r.ReadAt(after, br[2])
	if i := bytes.Index(after, []byte("endobj")); i >= 0 {
		after = after[:i]
	}
	text := append(around, after...)
	d.subFilter = nameAfter(text, "/SubFilter")
	d.name = stringAfter(text, "/Name")
	d.reason = stringAfter(text, "/Reason")
	d.location = stringAfter(text, "/Location")
	d.claimed = stringAfter(text, "/M")
	return d, true
}

// nameAfter returns the name object following the first key in text.
func nameAfter(text []byte, key string) string {
	for i := 0; ; {
		j := bytes.Index(text[i:], []byte(key))
		if j < 0 {
			return ""
		}
		p := &lexer{b: text, i: i + j + len(key)}
		i = p.i
		p.space()
		if p.byte('/') {
			s := p.i
			for p.i < len(p.b) && !isSpace(p.b[p.i]) && !bytes.ContainsRune([]byte("/<>[]()"), rune(p.b[p.i])) {
				p.i++
			}
			return string(p.b[s:p.i])
		}
	}
}

// stringAfter returns the text string following key in text (skipping
// occurrences of key followed by something else, such as /Name in
// /Prop_Build).
func stringAfter(text []byte, key string) string {
	for i := 0; ; {
		j := bytes.Index(text[i:], []byte(key))
		if j < 0 {
			return ""
		}
		p := &lexer{b: text, i: i + j + len(key)}
		i = p.i
		if p.i < len(p.b) && isRegular(p.b[p.i]) {
			continue // a longer key, such as /Mac
		}
		p.space()
		if s, ok := p.str(); ok {
			return decodeText(s)
		}
	}
}
