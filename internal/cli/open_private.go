package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// stdoutCap bounds what 'sealprint open -o -' holds back before writing:
// the plaintext is kept in the private temp dir until the signature
// verifies, so it needs room there and is refused above this size.
const stdoutCap = 1 << 30

// privateDir is a per-run 0700 directory in the user's cache dir where
// 'sealprint open' downloads ciphertext and decrypts: nothing unverified ever
// reaches the destination folder (often synced or on the network), and a
// killed run leaves nothing there.
type privateDir struct{ path string }

// newPrivateDir makes the run's directory, first removing those left by
// runs that died (their process is gone).
func newPrivateDir(fallback string) (*privateDir, error) {
	base := ""
	if c, err := os.UserCacheDir(); err == nil {
		base = filepath.Join(c, "sealprint", "open")
		if os.MkdirAll(base, 0o700) != nil {
			base = ""
		}
	}
	if base == "" {
		base = filepath.Join(fallback, "open")
		if err := os.MkdirAll(base, 0o700); err != nil {
			return nil, fmt.Errorf("private temp dir: %w", err)
		}
	}
	if err := os.Chmod(base, 0o700); err != nil {
		return nil, fmt.Errorf("private temp dir: %w", err)
	}
	sweepDead(base)
	dir, err := os.MkdirTemp(base, "run-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("private temp dir: %w", err)
	}
	return &privateDir{path: dir}, nil
}

// create makes a 0600 file in the directory.
func (d *privateDir) create(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(d.path, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

// remove deletes the directory and everything in it.
func (d *privateDir) remove() { os.RemoveAll(d.path) }

// sweepDead removes run directories whose process no longer exists.
func sweepDead(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		parts := strings.SplitN(e.Name(), "-", 3)
		if len(parts) != 3 || parts[0] != "run" {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		// A reused pid keeps a dead run's dir until that process ends: safe.
		if !processAlive(pid) {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// processAlive reports whether a process with this id exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	if runtime.GOOS == "windows" {
		return true // FindProcess fails on Windows when there is no such process
	}
	return p.Signal(signalZero) == nil
}

// capWriter fails once more than n bytes are written.
type capWriter struct {
	w io.Writer
	n int64
}

var errTooLarge = fmt.Errorf("the document is larger than %d MiB, the limit for -o -: write it to a file with -o FILE", stdoutCap>>20)

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.n {
		return 0, errTooLarge
	}
	c.n -= int64(len(p))
	return c.w.Write(p)
}

// placeVerified puts the verified plaintext (plain, in the private dir) at
// dest: a rename when the private dir and dest share a file system, else an
// atomic copy; a device or FIFO is written directly.
func placeVerified(plain *os.File, dest string, force bool) error {
	kind, resolved, err := atomicfile.OutputKind(dest)
	if err != nil {
		return err
	}
	if _, err := plain.Seek(0, io.SeekStart); err != nil {
		return err
	}
	copyFill := func(w io.Writer) error { _, err := io.Copy(w, plain); return err }
	if kind == atomicfile.Direct {
		return atomicfile.WriteOutput(dest, 0o600, copyFill)
	}
	if fileExists(resolved) && !force {
		return fmt.Errorf("%s exists: choose another name with -o or use --force", dest)
	}
	if err := plain.Sync(); err != nil {
		return err
	}
	// Same file system: a rename. Anything else (another disk, a network
	// share): an atomic copy, temp file in dest's folder then rename.
	if err := os.Rename(plain.Name(), resolved); err == nil {
		return atomicfile.SyncDir(filepath.Dir(resolved))
	}
	return atomicfile.Write(resolved, 0o600, copyFill)
}

// signalZero probes a process without signalling it.
var signalZero = syscall.Signal(0)

// checkOutput refuses, before any download or decryption, an output that
// could not be written: a directory, a block device, or an existing
// regular file without --force.
func checkOutput(dest string, force bool) error {
	kind, resolved, err := atomicfile.OutputKind(dest)
	if err != nil {
		return err
	}
	if kind == atomicfile.Regular && fileExists(resolved) && !force {
		return fmt.Errorf("%s exists: choose another name with -o or use --force", dest)
	}
	return nil
}
