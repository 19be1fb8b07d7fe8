package spooler

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// The intake log: how a small job is made durable without creating a file.
//
// Creating a job directory and its two files costs three inodes and their
// fsyncs on the path that answers the printer; on ext4 that allocation was
// a third of the CPU time of a burst of prints. So a job whose encrypted
// document fits in maxInline bytes is appended, with its first record, as
// one entry to the current segment of a log in intake/, and acknowledged
// once an fsync of the segment covers it. Concurrent jobs share that fsync
// (group commit): one fsync per batch, and no metadata but the segment's
// size.
//
// Later, when no document is being received (or after maxYield), the
// spooler moves the segment's jobs into jobs/<id>/ as if they had been
// received there (see Spooler.settleIntake), then deletes the segment.
// Until its segment is deleted, a job takes no step and its record is
// not changed: a job is never both in a segment and moved on from
// received, so replaying a segment can never bring back a job that
// already went further. At start, every segment left by a crash is
// replayed: each valid entry whose job is not already in jobs/ is moved
// there, and the segment is deleted.
//
// Entry layout (integers big-endian):
//
//	"SPJ1" | body length (4) | CRC-32C of length and body (4) |
//	body: id length (1) | id | document length (4) | document | record
//
// The document is a spool file (see crypt.go) bound to the job id and the
// record is a sealed record, so entries hold no plaintext; the CRC only
// finds where a torn write ends the segment. Appends are serialized and a
// job is acknowledged only after an fsync that began after its entry was
// written, so every acknowledged entry lies before any torn one.
const (
	intakeDir       = "intake"
	entryMagic      = "SPJ1"
	entryHeaderSize = 12
	// maxInline is the largest encrypted document kept in memory and sent
	// through the intake log; larger ones are written to their own file.
	maxInline = 4 << 20
	// inlineSlots bounds the documents held in memory at once (so at most
	// inlineSlots × maxInline bytes); other jobs use their own file.
	inlineSlots = 8
	// maxEntryRecord bounds the record in an entry.
	maxEntryRecord = 1 << 20
	// maxEntryBody bounds an entry's body.
	maxEntryBody = 1 + 64 + 4 + maxInline + headerSize + maxEntryRecord
	// segmentLimit is the size after which appends start a new segment.
	segmentLimit = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entryPrefix is the size of an entry before its document, for a job id
// of the usual length.
func entryPrefix(id string) int { return entryHeaderSize + 1 + len(id) + 4 }

// intakeEntry is a decoded entry.
type intakeEntry struct {
	id     string
	doc    []byte // a spool file: encrypted
	record []byte // a sealed record
}

// finishEntry turns buf, which holds entryPrefix(id) bytes of room
// followed by the encrypted document, into a complete entry with record
// appended.
func finishEntry(buf []byte, id string, record []byte) []byte {
	p := entryPrefix(id)
	docLen := len(buf) - p
	buf = append(buf, record...)
	body := buf[entryHeaderSize:]
	body[0] = byte(len(id))
	copy(body[1:], id)
	binary.BigEndian.PutUint32(body[1+len(id):], uint32(docLen))
	copy(buf, entryMagic)
	binary.BigEndian.PutUint32(buf[4:], uint32(len(body)))
	crc := crc32.Update(0, castagnoli, buf[4:8])
	crc = crc32.Update(crc, castagnoli, body)
	binary.BigEndian.PutUint32(buf[8:], crc)
	return buf
}

// errEndOfSegment marks the end of the valid entries of a segment: its
// end, or a torn or damaged entry.
var errEndOfSegment = errors.New("end of intake segment")

// readEntry reads the next entry from r into buf (reused) and decodes it.
// It returns errEndOfSegment at the end of the valid entries and other
// errors only for read failures.
func readEntry(r io.Reader, buf []byte) (intakeEntry, []byte, error) {
	var hdr [entryHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return intakeEntry{}, buf, errEndOfSegment
		}
		return intakeEntry{}, buf, err
	}
	if string(hdr[:4]) != entryMagic {
		return intakeEntry{}, buf, errEndOfSegment
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if int64(n) > int64(maxEntryBody) {
		return intakeEntry{}, buf, errEndOfSegment
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	body := buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return intakeEntry{}, buf, errEndOfSegment
		}
		return intakeEntry{}, buf, err
	}
	crc := crc32.Update(0, castagnoli, hdr[4:8])
	if crc32.Update(crc, castagnoli, body) != binary.BigEndian.Uint32(hdr[8:]) {
		return intakeEntry{}, buf, errEndOfSegment
	}
	e, ok := decodeBody(body)
	if !ok {
		return intakeEntry{}, buf, errEndOfSegment
	}
	return e, buf, nil
}

// decodeBody splits an entry body whose CRC matched. The slices point
// into body.
func decodeBody(body []byte) (intakeEntry, bool) {
	if len(body) < 1 {
		return intakeEntry{}, false
	}
	idLen := int(body[0])
	if len(body) < 1+idLen+4 {
		return intakeEntry{}, false
	}
	id := string(body[1 : 1+idLen])
	if !ValidID(id) {
		return intakeEntry{}, false
	}
	rest := body[1+idLen:]
	docLen := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(docLen) > uint64(len(rest)) || int64(docLen) > int64(maxInline+headerSize) {
		return intakeEntry{}, false
	}
	rec := rest[docLen:]
	if len(rec) == 0 || len(rec) > maxEntryRecord {
		return intakeEntry{}, false
	}
	return intakeEntry{id: id, doc: rest[:docLen], record: rec}, true
}

// scanSegment calls fn for each valid entry of the segment at path, in
// order, until the first torn or damaged one. The entry's slices are
// valid only during the call.
func scanSegment(path string, fn func(intakeEntry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var buf []byte
	for {
		var e intakeEntry
		e, buf, err = readEntry(r, buf)
		if errors.Is(err, errEndOfSegment) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Base(path), err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// segment is one file of the intake log.
type segment struct {
	num      uint64
	path     string
	f        segmentFile
	size     int64    // bytes appended
	synced   int64    // bytes known to be durable
	inflight int      // appends not yet answered
	err      error    // an append or fsync failed: no more appends
	acked    []string // jobs acknowledged from this segment, in order
}

// segmentFile is what the intake log needs of a segment's file; fault
// tests wrap it to fail writes and fsyncs.
type segmentFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// intakeLog appends entries to segments with group commit.
type intakeLog struct {
	dir    string
	create func(path string) (segmentFile, error) // createSpoolFile; replaced by fault tests
	slots  chan []byte                            // buffers for documents received in memory

	mu      sync.Mutex
	cond    *sync.Cond
	cur     *segment   // receives appends; nil until needed
	sealed  []*segment // no longer appended to; waiting to be settled
	next    uint64     // number of the next segment
	syncing bool       // an fsync runs (on any segment)
}

func newIntakeLog(dir string, next uint64) *intakeLog {
	l := &intakeLog{dir: dir, slots: make(chan []byte, inlineSlots), next: next,
		create: func(path string) (segmentFile, error) { return createSpoolFile(path) }}
	l.cond = sync.NewCond(&l.mu)
	for range inlineSlots {
		l.slots <- nil
	}
	return l
}

// takeSlot returns a buffer for a document received in memory, or false
// when all are in use.
func (l *intakeLog) takeSlot() ([]byte, bool) {
	select {
	case b := <-l.slots:
		return b, true
	default:
		return nil, false
	}
}

// putSlot returns a buffer from takeSlot. Buffers keep their capacity,
// which is bounded by maxInline plus an entry's overhead.
func (l *intakeLog) putSlot(b []byte) {
	if cap(b) > maxInline+headerSize+entryHeaderSize+maxEntryRecord+128 {
		b = nil
	}
	l.slots <- b[:0]
}

func segmentName(num uint64) string { return fmt.Sprintf("%016x.log", num) }

// segmentNum parses a segment file name.
func segmentNum(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".log")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil
}

// listSegments returns the segment files in dir, oldest first.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint64
	for _, e := range ents {
		if n, ok := segmentNum(e.Name()); ok && e.Type().IsRegular() {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, k int) bool { return nums[i] < nums[k] })
	return nums, nil
}

// openSegmentLocked starts a new current segment. The file's name is
// durable before anything in it is acknowledged.
func (l *intakeLog) openSegmentLocked() error {
	if l.cur != nil {
		l.sealed = append(l.sealed, l.cur)
		l.cur = nil
	}
	num := l.next
	path := filepath.Join(l.dir, segmentName(num))
	f, err := l.create(path)
	if err != nil {
		return fmt.Errorf("intake log: %w", err)
	}
	if err := atomicfile.SyncDir(l.dir); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("intake log: %w", err)
	}
	l.next++
	l.cur = &segment{num: num, path: path, f: f}
	return nil
}

// append writes entry, the entry of job id, and returns once an fsync
// covers it. On error the job must not be acknowledged; the segment
// takes no more appends.
func (l *intakeLog) append(id string, entry []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil || l.cur.err != nil || l.cur.size+int64(len(entry)) > segmentLimit && l.cur.size > 0 {
		if err := l.openSegmentLocked(); err != nil {
			return err
		}
	}
	seg := l.cur
	seg.inflight++
	defer func() {
		seg.inflight--
		l.cond.Broadcast()
	}()
	// Appends are serialized, so entries never interleave.
	if _, err := seg.f.Write(entry); err != nil {
		seg.err = fmt.Errorf("intake log: %w", err)
		// A torn entry ends the segment for replay: nothing may follow it.
		_ = seg.f.Truncate(seg.size)
		return seg.err
	}
	seg.size += int64(len(entry))
	end := seg.size
	for seg.synced < end {
		if seg.err != nil {
			return seg.err
		}
		if l.syncing {
			l.cond.Wait()
			continue
		}
		// Lead an fsync for every entry written so far.
		l.syncing = true
		upto := seg.size
		l.mu.Unlock()
		err := seg.f.Sync()
		l.mu.Lock()
		l.syncing = false
		if err != nil {
			seg.err = fmt.Errorf("intake log: sync: %w", err)
			// Every entry past the last good fsync is refused to its
			// caller: cut them off, or a restart would replay jobs
			// their clients were told failed (and print again).
			_ = seg.f.Truncate(seg.synced)
		} else {
			seg.synced = max(seg.synced, upto)
		}
		l.cond.Broadcast()
	}
	seg.acked = append(seg.acked, id)
	return nil
}

// takeSealed closes the current segment to appends, waits for the appends
// in progress to be answered, and returns every segment not yet settled,
// oldest first.
func (l *intakeLog) takeSealed() []*segment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && l.cur.size != 0 {
		l.sealed = append(l.sealed, l.cur)
		l.cur = nil
	}
	for _, seg := range l.sealed {
		for seg.inflight > 0 {
			l.cond.Wait()
		}
	}
	out := l.sealed
	l.sealed = nil
	return out
}

// requeue gives back segments that could not be settled.
func (l *intakeLog) requeue(segs []*segment) {
	l.mu.Lock()
	l.sealed = append(segs, l.sealed...)
	l.mu.Unlock()
}

// closeSegment closes the file of a segment taken with takeSealed.
func (l *intakeLog) closeSegment(seg *segment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seg.f != nil {
		seg.f.Close()
		seg.f = nil
	}
}

// close closes the segments' files; the log takes no more appends.
func (l *intakeLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seg := range append(l.sealed, l.cur) {
		if seg != nil && seg.f != nil {
			seg.f.Close()
			seg.f = nil
			if seg.err == nil {
				seg.err = ErrClosed
			}
		}
	}
}
