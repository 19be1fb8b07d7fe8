package spooler

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sealprint/sealprint/internal/diskfull"
)

// Incoming describes a job handed over by the printer.
type Incoming struct {
	PrinterID string
	Queue     string
	Name      string
	User      string
	Format    string
	Attrs     map[string]string
	Created   time.Time
	// Recipients, if set, are the job's fixed recipients; else
	// Options.Recipients(Queue) decides, and none means the job is held.
	Recipients []string
}

// Limits on the metadata of an incoming job.
const (
	maxNameLen  = 255
	maxAttrs    = 64
	maxAttrLen  = 1024
	maxQueueLen = 127
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a fresh job id: time-ordered, with 80 random bits.
func (s *Spooler) newID() (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.clock.Now().UnixMilli())<<16)
	if _, err := io.ReadFull(s.opt.Rand, b[6:]); err != nil {
		return "", fmt.Errorf("random job id: %w", err)
	}
	return "job-" + idEncoding.EncodeToString(b[:]), nil
}

// Accept stores a printed document durably and returns its job id. It
// returns only once the document is encrypted and fsynced on disk and the
// job's first record is written; an error means nothing was kept. When the
// spool is full, or its disk is, it returns a *BusyError.
func (s *Spooler) Accept(ctx context.Context, in Incoming, doc io.Reader) (string, error) {
	id, err := s.accept(ctx, in, doc)
	if err != nil && diskfull.Is(err) {
		s.log.Warn("spool: job refused, the disk is full", "err", err)
		return "", &BusyError{Reason: "no space left on the spool's disk"}
	}
	return id, err
}

// accept is Accept without the mapping of a full disk to busy.
func (s *Spooler) accept(ctx context.Context, in Incoming, doc io.Reader) (string, error) {
	if err := s.reserve(); err != nil {
		return "", err
	}
	var counted int64
	defer func() { s.release(counted) }()

	id, err := s.newID()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	j := &Job{
		ID:        id,
		PrinterID: Clip(in.PrinterID, 64),
		Queue:     Clip(in.Queue, maxQueueLen),
		Name:      Clip(in.Name, maxNameLen),
		User:      Clip(in.User, maxNameLen),
		Format:    Clip(in.Format, 127),
		Attrs:     clipAttrs(in.Attrs),
		Created:   in.Created,
	}
	to := in.Recipients
	if len(to) == 0 {
		to = s.opt.Recipients(in.Queue)
	}
	if len(to) > 0 {
		if j.Recipients, err = normalizeRecipients(to); err != nil {
			return "", Permanent(fmt.Errorf("queue %s: %w", j.Queue, err))
		}
	}
	if j.Created.IsZero() {
		j.Created = now
	}
	if j.Name == "" {
		j.Name = "untitled"
	}
	j.moveTo(Received, now, "")

	tmp := filepath.Join(s.opt.Dir, incomingDir, id)
	var files []*os.File
	madeDir, keep := false, false
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if madeDir && !keep {
			os.RemoveAll(tmp)
		}
	}()
	// openDoc starts the job's own directory and document file.
	openDoc := func() (*os.File, error) {
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return nil, err
		}
		madeDir = true
		f, err := createSpoolFile(filepath.Join(tmp, docFile))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return f, nil
	}
	// A document is received in memory for the intake log while a buffer
	// is free and it stays small; else into its own file.
	var mem *inlineDoc
	if s.inline > 0 {
		if slot, ok := s.intake.takeSlot(); ok {
			mem = newInlineDoc(slot, entryPrefix(id), s.inline, openDoc)
			defer func() { s.intake.putSlot(mem.slot()) }()
		}
	}
	var out io.Writer = mem
	if mem == nil {
		f, err := openDoc()
		if err != nil {
			return "", fmt.Errorf("spool job: %w", err)
		}
		out = f
	}
	start := time.Now()
	err = s.receive(ctx, out, j, doc, &counted)
	if err == nil {
		err = ctx.Err()
	}
	var rec []byte
	if err == nil {
		rec, err = s.st.sealedRecord(j)
	}
	if err != nil {
		var busy *BusyError
		if errors.As(err, &busy) {
			return "", busy
		}
		return "", fmt.Errorf("spool job: %w", err)
	}
	written := time.Now()
	logged := mem != nil && !mem.spilled()
	if logged && len(rec) > maxEntryRecord {
		// Too large for an entry (the metadata limits keep records far
		// smaller): the job gets its own directory after all.
		if err := mem.spillNow(); err != nil {
			return "", fmt.Errorf("spool job: %w", err)
		}
		logged = false
	}
	if logged {
		if err := s.intake.append(id, mem.finish(id, rec)); err != nil {
			return "", fmt.Errorf("spool job: %w", err)
		}
	} else {
		rf, err := createSpoolFile(filepath.Join(tmp, recordFile))
		if err != nil {
			return "", fmt.Errorf("spool job: %w", err)
		}
		files = append(files, rf)
		if _, err := rf.Write(rec); err != nil {
			return "", fmt.Errorf("spool job: %w", err)
		}
		pj := &pendingJob{id: id, dir: tmp, final: s.st.jobDir(id), files: files}
		if err := s.gc.submit(pj); err != nil {
			os.RemoveAll(s.st.jobDir(id)) // not acknowledged: do not deliver it later
			if errors.Is(err, ErrClosed) {
				return "", err
			}
			return "", fmt.Errorf("spool job: %w", err)
		}
	}
	keep = true
	s.mu.Lock()
	s.jobs[id] = &entry{job: j, logged: logged}
	if logged {
		s.logged++
	}
	s.countLocked(j, 1)
	s.mu.Unlock()
	s.log.Info("job received", "job", id, "queue", j.Queue, "format", j.Format, "bytes", j.Size,
		"recipients", len(j.Recipients), "duration", time.Since(start), "commit", time.Since(written), "intake_log", logged)
	s.emit(j, "")
	s.kick()
	return id, nil
}

// receive encrypts the document of job j into out, counting its bytes
// against the spool's limits, and sets j.Size.
func (s *Spooler) receive(ctx context.Context, out io.Writer, j *Job, doc io.Reader, counted *int64) error {
	ew, err := s.st.c.newEncryptWriter(out, j.ID, docFile)
	if err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	defer clear(buf)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := doc.Read(buf)
		if n > 0 {
			if err := s.grow(counted, int64(n)); err != nil {
				return err
			}
			if _, err := ew.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read document: %w", rerr)
		}
	}
	j.Size = ew.Written()
	return ew.Close()
}

// inlineDoc collects an encrypted document in memory, after room for the
// prefix of an intake entry, while it fits in limit bytes; beyond that it
// moves what it has to the file spill opens, and writes go there.
type inlineDoc struct {
	buf    []byte
	prefix int
	limit  int
	spill  func() (*os.File, error)
	f      *os.File
	kept   []byte // buf's storage, for the next job, once spilled
}

func newInlineDoc(slot []byte, prefix, limit int, spill func() (*os.File, error)) *inlineDoc {
	buf := slot[:0]
	if cap(buf) < prefix+chunkSize {
		buf = make([]byte, 0, prefix+1<<20)
	}
	return &inlineDoc{buf: buf[:prefix], prefix: prefix, limit: limit, spill: spill}
}

func (d *inlineDoc) Write(p []byte) (int, error) {
	if d.f == nil && len(d.buf)-d.prefix+len(p) > d.limit {
		if err := d.spillNow(); err != nil {
			return 0, err
		}
	}
	if d.f != nil {
		return d.f.Write(p)
	}
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// spillNow moves the document held so far to the file spill opens; later
// writes go there.
func (d *inlineDoc) spillNow() error {
	f, err := d.spill()
	if err != nil {
		return err
	}
	if _, err := f.Write(d.doc()); err != nil {
		return err
	}
	d.f, d.kept, d.buf = f, d.buf[:0], nil
	return nil
}

// spilled reports whether the document went to a file.
func (d *inlineDoc) spilled() bool { return d.f != nil }

// doc returns the document held in memory.
func (d *inlineDoc) doc() []byte { return d.buf[d.prefix:] }

// finish returns the intake entry of job id with its sealed record.
func (d *inlineDoc) finish(id string, record []byte) []byte {
	d.buf = finishEntry(d.buf, id, record)
	return d.buf
}

// slot returns the storage to give back to the intake log.
func (d *inlineDoc) slot() []byte {
	if d.buf == nil {
		return d.kept
	}
	return d.buf
}

// reserve admits one more Accept unless the spool is full.
func (s *Spooler) reserve() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if active := s.accepts + s.unfinished; active >= s.opt.MaxJobs {
		return &BusyError{Reason: fmt.Sprintf("%d unfinished jobs", active)}
	}
	if s.unfinishedBytes+s.inBytes >= s.opt.MaxBytes {
		return &BusyError{Reason: "spool size limit reached"}
	}
	s.accepts++
	return nil
}

// grow counts n more bytes of an Accept in progress against MaxBytes.
func (s *Spooler) grow(counted *int64, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unfinishedBytes+s.inBytes+n > s.opt.MaxBytes {
		return &BusyError{Reason: "spool size limit reached"}
	}
	s.inBytes += n
	*counted += n
	return nil
}

func (s *Spooler) release(counted int64) {
	s.mu.Lock()
	s.accepts--
	s.inBytes -= counted
	idle := s.accepts == 0
	if idle {
		s.idleAt = time.Now()
	}
	s.mu.Unlock()
	if idle {
		// Background work may have waited for the Accepts (see
		// yieldLocked); it starts once no new one came for a moment.
		time.AfterFunc(quietAfterAccepts, s.kick)
	}
}

// countLocked adds j (sign 1) to the counts of unfinished jobs, or takes
// it away (sign -1). Every change of s.jobs goes through it.
func (s *Spooler) countLocked(j *Job, sign int) {
	if j == nil || j.State.Final() {
		return
	}
	s.unfinished += sign
	s.unfinishedBytes += int64(sign) * j.Size
}

// Clip bounds a string from outside (a job name, an error) to n bytes of
// valid UTF-8 on one line, for records, messages and notifications.
func Clip(v string, n int) string {
	v = strings.ToValidUTF8(v, "?")
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, v)
	for len(v) > n {
		_, size := utf8.DecodeLastRuneInString(v)
		v = v[:len(v)-size]
	}
	return strings.TrimSpace(v)
}

func clipAttrs(a map[string]string) map[string]string {
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(a), maxAttrs))
	for k, v := range a {
		if len(out) == maxAttrs {
			break
		}
		out[Clip(k, 64)] = Clip(v, maxAttrLen)
	}
	return out
}
