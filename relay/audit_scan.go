package relay

import (
	"bufio"
	"bytes"
	"io"
)

// newAuditScanner reads an audit log line by line, without the line
// terminators. A last line that has no newline yet is not returned: the
// relay may be writing it at this very moment (readers take no lock, and
// a reader can see part of a write), or a crash cut it, in which case the
// relay removes it when it next opens the log. Its length goes to
// *partial when partial is not nil. Such a line was never acknowledged:
// the relay answers only after the whole line, newline included, is
// fsynced.
func newAuditScanner(r io.Reader, partial *int64) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxAuditLine)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 && partial != nil {
			*partial = int64(len(data))
		}
		return 0, nil, nil // more data, or the end: an unfinished line is left out
	})
	return sc
}
