package spooler

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// readDoc returns the plaintext of a job's stored document.
func readDoc(t *testing.T, sp *Spooler, id string) []byte {
	t.Helper()
	r, err := sp.st.openEncrypted(id, docFile, docFile)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segmentIDs returns the job ids of the valid entries in intake/.
func segmentIDs(t *testing.T, dir string) []string {
	t.Helper()
	nums, err := listSegments(filepath.Join(dir, intakeDir))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range nums {
		err := scanSegment(filepath.Join(dir, intakeDir, segmentName(n)), func(e intakeEntry) error {
			ids = append(ids, e.id)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// Small documents are acknowledged once they are in the intake log, with
// no job directory; settling moves them into jobs/ and deletes the log.
func TestIntakeAcceptAndSettle(t *testing.T) {
	h := newHarness(t, nil)
	const n = 24
	docs := map[string][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := doc(50_000+i*997, "intake")
			id, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: "r"}, bytes.NewReader(d))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			docs[id] = d
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(docs) != n {
		t.Fatalf("%d of %d accepted", len(docs), n)
	}
	// Up to inlineSlots documents are held in memory at once; the others
	// went to their own files.
	logged := segmentIDs(t, h.dir)
	if len(logged) < inlineSlots {
		t.Fatalf("%d entries in the intake log, want at least %d", len(logged), inlineSlots)
	}
	inLog := map[string]bool{}
	for _, id := range logged {
		if _, ok := docs[id]; !ok {
			t.Fatalf("unknown job %s in the intake log", id)
		}
		inLog[id] = true
	}
	for id := range docs {
		_, err := os.Stat(h.sp.st.jobDir(id))
		if inLog[id] == (err == nil) {
			t.Fatalf("job %s: in the log %v, directory error %v", id, inLog[id], err)
		}
	}
	h.sp.mu.Lock()
	count := h.sp.logged
	h.sp.mu.Unlock()
	if count != len(logged) {
		t.Fatalf("%d jobs counted as logged, want %d", count, len(logged))
	}

	if err := h.sp.settleIntake(); err != nil {
		t.Fatal(err)
	}
	if ids := segmentIDs(t, h.dir); len(ids) != 0 {
		t.Fatalf("intake log still holds %v", ids)
	}
	for id, d := range docs {
		if got := readDoc(t, h.sp, id); !bytes.Equal(got, d) {
			t.Fatalf("job %s: document differs after settling", id)
		}
		j, err := h.sp.st.readRecord(id)
		if err != nil || j.State != Received || j.Size != int64(len(docs[id])) {
			t.Fatalf("job %s: record %+v, %v", id, j, err)
		}
	}
	h.sp.mu.Lock()
	count = h.sp.logged
	h.sp.mu.Unlock()
	if count != 0 {
		t.Fatalf("%d jobs still counted as logged", count)
	}

	// The scheduler runs them to the end.
	h.start()
	for id := range docs {
		h.waitState(id, Held)
	}
}

// Jobs acknowledged from the intake log survive a crash before they were
// moved: the next start replays the log, once.
func TestIntakeReplayAfterCrash(t *testing.T) {
	h := newHarness(t, nil)
	var ids []string
	var docs [][]byte
	for i := range 5 {
		d := doc(10_000+i, "crash")
		ids = append(ids, h.accept("martin", "r", d))
		docs = append(docs, d)
	}
	// A torn entry after them, as a crash in the middle of an append leaves.
	nums, _ := listSegments(filepath.Join(h.dir, intakeDir))
	if len(nums) != 1 {
		t.Fatalf("%d segments", len(nums))
	}
	seg := filepath.Join(h.dir, intakeDir, segmentName(nums[0]))
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := finishEntry(make([]byte, entryPrefix(ids[0])+500), "job-aaaaaaaaaaaaaaaaaaaaaaaaaa", []byte("rec"))
	f.Write(torn[:len(torn)-7])
	f.Close()

	h.stop()
	h.open() // without settling: as after a crash
	if left, _ := listSegments(filepath.Join(h.dir, intakeDir)); len(left) != 0 {
		t.Fatalf("segments left after replay: %v", left)
	}
	if got := len(h.sp.List()); got != len(ids) {
		t.Fatalf("%d jobs after replay, want %d", got, len(ids))
	}
	for i, id := range ids {
		if got := readDoc(t, h.sp, id); !bytes.Equal(got, docs[i]) {
			t.Fatalf("job %s: document differs after replay", id)
		}
	}
	h.start()
	for _, id := range ids {
		h.waitState(id, Uploaded)
	}
	if h.relay.creates != len(ids) {
		t.Fatalf("%d drops for %d jobs", h.relay.creates, len(ids))
	}
	// A second start finds nothing to replay and no job twice.
	h.restart()
	if got := len(h.sp.List()); got != len(ids) {
		t.Fatalf("%d jobs after a second start", got)
	}
}

// A replay interrupted after moving some jobs moves the rest and does not
// duplicate the others.
func TestIntakeReplayIsIdempotent(t *testing.T) {
	h := newHarness(t, nil)
	a := h.accept("sealed", "a", doc(3000, "a"))
	b := h.accept("sealed", "b", doc(3001, "b"))
	nums, _ := listSegments(filepath.Join(h.dir, intakeDir))
	seg := filepath.Join(h.dir, intakeDir, segmentName(nums[0]))
	// Job a was moved before the crash; the segment was not yet deleted.
	if err := h.sp.moveEntries(seg, map[string]bool{a: true}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if got := len(h.sp.List()); got != 2 {
		t.Fatalf("%d jobs, want 2", got)
	}
	for _, id := range []string{a, b} {
		h.waitState(id, Held)
	}
}

// A document larger than the inline limit goes to its own file, is in
// jobs/ as soon as it is acknowledged, and is not in the intake log.
func TestIntakeLargeDocumentSpills(t *testing.T) {
	h := newHarness(t, nil)
	h.sp.inline = 100_000
	d := doc(300_000, "large")
	id := h.accept("sealed", "big", d)
	if _, err := h.sp.st.readRecord(id); err != nil {
		t.Fatal(err)
	}
	if got := readDoc(t, h.sp, id); !bytes.Equal(got, d) {
		t.Fatal("spilled document differs")
	}
	if ids := segmentIDs(t, h.dir); len(ids) != 0 {
		t.Fatalf("intake log holds %v", ids)
	}
	small := h.accept("sealed", "small", doc(1000, "small"))
	if ids := segmentIDs(t, h.dir); len(ids) != 1 || ids[0] != small {
		t.Fatalf("intake log holds %v, want [%s]", ids, small)
	}
}

// Changing a job still in the intake log moves it out first.
func TestIntakeCancelLoggedJob(t *testing.T) {
	h := newHarness(t, nil)
	id := h.accept("sealed", "c", doc(2000, "c"))
	j, err := h.sp.Cancel(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != Canceled {
		t.Fatalf("state %s", j.State)
	}
	if ids := segmentIDs(t, h.dir); len(ids) != 0 {
		t.Fatalf("intake log still holds %v", ids)
	}
	h.restart()
	if j, _ := h.sp.Get(id); j == nil || j.State != Canceled {
		t.Fatalf("after restart: %+v", j)
	}
}

// An entry decodes to what was encoded; damage anywhere ends the segment.
func TestIntakeEntryRoundTrip(t *testing.T) {
	id := "job-abcdefghijklmnopqrstuvwxyz"
	docBytes := bytes.Repeat([]byte{0xd0}, 1000)
	buf := append(make([]byte, entryPrefix(id)), docBytes...)
	entry := finishEntry(buf, id, []byte("sealed record"))
	e, _, err := readEntry(bytes.NewReader(entry), nil)
	if err != nil || e.id != id || !bytes.Equal(e.doc, docBytes) || string(e.record) != "sealed record" {
		t.Fatalf("decoded %q %d %q, %v", e.id, len(e.doc), e.record, err)
	}
	for _, i := range []int{0, 5, 9, 12, 13, 20, entryPrefix(id) + 10, len(entry) - 1} {
		bad := bytes.Clone(entry)
		bad[i] ^= 0x40
		if _, _, err := readEntry(bytes.NewReader(bad), nil); err != errEndOfSegment {
			t.Fatalf("flip at %d: %v", i, err)
		}
	}
	if _, _, err := readEntry(bytes.NewReader(entry[:len(entry)-1]), nil); err != errEndOfSegment {
		t.Fatalf("truncated: %v", err)
	}
}

// FuzzIntakeSegment feeds arbitrary segment contents to the replay
// parser: it never panics, and every entry it accepts is within bounds.
// For longer runs: go test ./spooler -run '^$' -fuzz FuzzIntakeSegment -fuzztime 10m
func FuzzIntakeSegment(f *testing.F) {
	id := "job-abcdefghijklmnopqrstuvwxyz"
	good := finishEntry(append(make([]byte, entryPrefix(id)), "document"...), id, []byte("record"))
	f.Add(good)
	f.Add(append(bytes.Clone(good), good...))
	f.Add(good[:len(good)-3])
	f.Add([]byte("SPJ1\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var buf []byte
		for range 1000 {
			var e intakeEntry
			var err error
			e, buf, err = readEntry(r, buf)
			if err == errEndOfSegment {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !ValidID(e.id) || len(e.doc) > maxInline+headerSize || len(e.record) == 0 || len(e.record) > maxEntryRecord {
				t.Fatalf("accepted an entry out of bounds: %q %d %d", e.id, len(e.doc), len(e.record))
			}
		}
	})
}
