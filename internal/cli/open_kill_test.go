package cli

import (
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestOpenKilledLeavesNothing: 'sealprint open' of a 200 MiB drop, killed
// with SIGKILL while it downloads, leaves nothing in the destination folder
// (everything unverified lives in a private dir of the user's cache), and
// the next run removes what the killed one left in its cache.
func TestOpenKilledLeavesNothing(t *testing.T) {
	testutil.NeedIntegration(t)
	relay := startRelayProc(t)
	doctor, officer := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	big := filepath.Join(doctor.dir, "big.pdf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("%PDF-1.7\n")
	if _, err := io.CopyN(f, rand.Reader, 200<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := doctor.send(big, "--link", "--to", "someone@police.example")

	cache := filepath.Join(officer.dir, "cache")
	dest := filepath.Join(officer.dir, "dest")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	openCmd := func() *exec.Cmd {
		cmd := exec.Command(testutil.Binary(t, "sealprint"), "open", r.Link, "-o", filepath.Join(dest, "report.pdf"))
		cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+officer.home, "SEALPRINT_KEYRING=file", "XDG_CACHE_HOME="+cache)
		return cmd
	}
	cmd := openCmd()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the download has started (some ciphertext in the
	// private dir), well before 200 MiB are through.
	runs := filepath.Join(cache, "sealprint", "open")
	for {
		if n := downloadedBytes(runs); n > 1<<20 {
			break
		}
		if cmd.ProcessState != nil {
			t.Fatal("open ended before it was killed")
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Fatalf("a killed open left %v in the destination folder", entries)
	}
	if st, err := os.Stat(runs); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("private dir: %v %v", st, err)
	}
	// The next run sweeps the dead run's dir and opens the document.
	if out, err := openCmd().CombinedOutput(); err != nil {
		t.Fatalf("open again: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dest, "report.pdf")); err != nil || st.Size() != 200<<20+9 {
		t.Fatalf("document after the second open: %v %v", st, err)
	}
	if entries, _ := os.ReadDir(runs); len(entries) != 0 {
		t.Fatalf("left in the private dir: %v", entries)
	}
}

// downloadedBytes sums the sizes of the files under dir.
func downloadedBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}
