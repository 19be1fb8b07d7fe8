package spooler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// faultyFile fails Write or Sync when told to.
type faultyFile struct {
	segmentFile
	faults *faults
}

type faults struct {
	mu                  sync.Mutex
	failWrite, failSync int // how many of the next writes / syncs fail
}

var errInjected = errors.New("injected EIO")

func (f *faultyFile) Write(p []byte) (int, error) {
	f.faults.mu.Lock()
	fail := f.faults.failWrite > 0
	if fail {
		f.faults.failWrite--
	}
	f.faults.mu.Unlock()
	if fail {
		// A torn write: half of it reached the file.
		n, _ := f.segmentFile.Write(p[:len(p)/2])
		return n, errInjected
	}
	return f.segmentFile.Write(p)
}

func (f *faultyFile) Sync() error {
	f.faults.mu.Lock()
	fail := f.faults.failSync > 0
	if fail {
		f.faults.failSync--
	}
	f.faults.mu.Unlock()
	if fail {
		return errInjected
	}
	return f.segmentFile.Sync()
}

// injectFaults makes the intake log's segment files faulty.
func injectFaults(sp *Spooler) *faults {
	fl := &faults{}
	orig := sp.intake.create
	sp.intake.create = func(path string) (segmentFile, error) {
		f, err := orig(path)
		if err != nil {
			return nil, err
		}
		return &faultyFile{segmentFile: f, faults: fl}, nil
	}
	return fl
}

// copyTree copies a spool directory as a killed process leaves it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A write or fsync failure of the intake log refuses the job (not
// acknowledged), keeps every acknowledged job, and a process killed right
// after does not bring the refused job back; later jobs are accepted.
func TestIntakeLogWriteAndSyncFaults(t *testing.T) {
	for _, fault := range []string{"write", "fsync"} {
		t.Run(fault, func(t *testing.T) {
			h := newHarness(t, nil)
			fl := injectFaults(h.sp)
			accept := func(tag string) (string, []byte, error) {
				d := doc(20_000, tag)
				id, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: tag}, bytes.NewReader(d))
				return id, d, err
			}
			good1, d1, err := accept("before")
			if err != nil {
				t.Fatal(err)
			}
			fl.mu.Lock()
			if fault == "write" {
				fl.failWrite = 1
			} else {
				fl.failSync = 1
			}
			fl.mu.Unlock()
			if id, _, err := accept("refused"); err == nil {
				t.Fatalf("job %s acknowledged although the intake log's %s failed", id, fault)
			}
			good2, d2, err := accept("after")
			if err != nil {
				t.Fatalf("the spool did not recover from a %s error: %v", fault, err)
			}
			if n := len(h.sp.List()); n != 2 {
				t.Fatalf("%d jobs listed, want the 2 acknowledged", n)
			}
			// Killed now: a copy of the spool as it is on disk, opened anew.
			crashed := t.TempDir()
			copyTree(t, h.dir, crashed)
			os.Remove(filepath.Join(crashed, "lock"))
			h2 := newHarnessAt(t, crashed, h.key, nil)
			h2.open()
			defer h2.sp.Close()
			jobs := h2.sp.List()
			names := map[string]bool{}
			for _, j := range jobs {
				names[j.Name] = true
			}
			if len(jobs) != 2 || !names["before"] || !names["after"] {
				t.Fatalf("after a crash the spool holds %v, want exactly the 2 acknowledged jobs", names)
			}
			if !bytes.Equal(readDoc(t, h2.sp, good1), d1) || !bytes.Equal(readDoc(t, h2.sp, good2), d2) {
				t.Fatal("an acknowledged document changed")
			}
		})
	}
}
