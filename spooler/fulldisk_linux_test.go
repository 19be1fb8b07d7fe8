package spooler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mountTmpfs mounts a tmpfs of size at a new temp dir (needs root) and
// returns the mount point and a function that resizes it.
func mountTmpfs(t *testing.T, size string) (string, func(string)) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("SEALPRINT_INTEGRATION") == "1" {
			t.Fatal("the full-disk test mounts a tmpfs: run it as root")
		}
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, func(size string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount tmpfs: %v\n%s", err, out)
		}
	}
}

// On a real full disk, jobs are refused as busy (the printer answers
// server-error-busy), every acknowledged job is kept whole, and jobs are
// accepted again once space returns, also after a restart.
func TestSpoolFullDisk(t *testing.T) {
	dir, resize := mountTmpfs(t, "3m")
	h := newHarnessAt(t, filepath.Join(dir, "spool"), nil, nil)
	h.open()
	t.Cleanup(func() { h.sp.Close() })
	acked := map[string][]byte{}
	var busyErr error
	for i := range 200 {
		// Both paths: small documents go to the intake log, large ones to
		// their own files.
		size := 30_000
		if i%2 == 1 {
			size = 300_000
		}
		d := doc(size+i, fmt.Sprint("full", i))
		id, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: fmt.Sprint(i)}, bytes.NewReader(d))
		if err != nil {
			busyErr = err
			break
		}
		acked[id] = d
	}
	var busy *BusyError
	if !errors.As(busyErr, &busy) {
		t.Fatalf("on a full disk Accept returned %v, want a *BusyError", busyErr)
	}
	if len(acked) == 0 {
		t.Fatal("nothing accepted before the disk filled")
	}
	check := func(sp *Spooler, read bool) {
		t.Helper()
		if n := len(sp.List()); n != len(acked) {
			t.Fatalf("%d jobs listed, %d acknowledged", n, len(acked))
		}
		if !read {
			return
		}
		// Settle the intake log so every document is in jobs/.
		if err := sp.settleIntake(); err != nil {
			t.Fatalf("settle: %v", err)
		}
		for id, d := range acked {
			if !bytes.Equal(readDoc(t, sp, id), d) {
				t.Fatalf("acknowledged job %s damaged", id)
			}
		}
	}
	check(h.sp, false)
	// Space returns: jobs are accepted again, and all survive a restart.
	resize("64m")
	for i := range 4 {
		d := doc(30_000+i*200_000, fmt.Sprint("again", i))
		id, err := h.sp.Accept(context.Background(), Incoming{Queue: "sealed", Name: "again"}, bytes.NewReader(d))
		if err != nil {
			t.Fatalf("after space returned: %v", err)
		}
		acked[id] = d
	}
	check(h.sp, true)
	h.open()
	check(h.sp, true)
	t.Logf("%d jobs acknowledged on a 3 MiB disk before it was full: %v", len(acked)-4, busyErr)
}
