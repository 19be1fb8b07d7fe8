package cli

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestOutputsToSpecialFiles: seal, render and open written, as root, to a
// character device and to a FIFO leave the device a device. A mknod'd twin
// of /dev/null (char 1,3) in a temp dir is tried first, so a regression
// breaks only that twin; the real /dev/null is used once the twin survived.
func TestOutputsToSpecialFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		if testutil.Integration() {
			t.Fatal("needs root (./scripts/test runs as root): makes a device node and writes to /dev/null")
		}
		t.Skip("needs root: makes a device node and writes to /dev/null")
	}
	p := newPerson(t)
	p.must("keys", "generate", "--name", "Dr Alice Doc", "--email", "alice@hospital.example")
	report := filepath.Join(p.dir, "report.txt")
	if err := os.WriteFile(report, []byte("Rapport médico-légal MARKER-4711\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(p.dir, "alice.asc")
	if err := os.WriteFile(pub, []byte(p.must("keys", "export", "alice@hospital.example")), 0o644); err != nil {
		t.Fatal(err)
	}
	sealed := filepath.Join(p.dir, "report.pgp")
	p.must("seal", report, "--to-file", pub, "-o", sealed)

	twin := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(twin, syscall.S_IFCHR|0o666, int(mkdev(1, 3))); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	commands := map[string][]string{
		"seal":   {"seal", report, "--to-file", pub, "-o"},
		"render": {"render", report, "-o"},
		"open":   {"open", sealed, "-o"},
	}
	for _, target := range []string{twin, fifo, "/dev/null"} {
		for name, args := range commands {
			if target == fifo {
				// A reader on the FIFO, as a pipeline would have.
				done := make(chan int64)
				go func() {
					f, err := os.Open(fifo)
					if err != nil {
						done <- -1
						return
					}
					n, _ := io.Copy(io.Discard, f)
					f.Close()
					done <- n
				}()
				p.must(append(args, target)...)
				if n := <-done; n <= 0 {
					t.Fatalf("%s -o FIFO: the reader got %d bytes", name, n)
				}
				assertMode(t, target, os.ModeNamedPipe)
				continue
			}
			p.must(append(args, target)...)
			assertMode(t, target, os.ModeDevice|os.ModeCharDevice)
		}
		if entries, _ := os.ReadDir(filepath.Dir(target)); target != "/dev/null" && len(entries) != 1 {
			t.Fatalf("files left next to %s: %v", target, entries)
		}
	}
	// A directory is refused with a clear error, and nothing is written in it.
	dir := t.TempDir()
	p.fails("is a directory", "render", report, "-o", dir)
	p.fails("is a directory", "open", sealed, "-o", dir)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("written into the directory: %v", entries)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != want {
		t.Fatalf("%s is now %v, want %v", path, st.Mode().Type(), want)
	}
}

// mkdev encodes a Linux device number.
func mkdev(major, minor uint32) uint64 {
	return uint64(major&0xfff)<<8 | uint64(minor&0xff) | uint64(minor&^0xff)<<12 | uint64(major&^0xfff)<<32
}
