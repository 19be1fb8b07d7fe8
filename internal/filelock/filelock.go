// Package filelock holds an exclusive lock on a file for as long as a
// process wants it: flock(2) on Unix, LockFileEx on Windows. The
// operating system drops the lock when the process ends, even by SIGKILL,
// so a crash leaves no stale lock behind. The holder writes its process
// id into the file, so that a process refused the lock can name it.
package filelock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ErrLocked is wrapped by TryLock's error when another process (or another
// open of the file in this process) holds the lock.
var ErrLocked = errors.New("locked by another process")

// LockedError is TryLock's error when the lock is held. PID is the
// holder's process id as it wrote it, 0 when unknown.
type LockedError struct {
	Path string
	PID  int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s: %v (pid %d)", e.Path, ErrLocked, e.PID)
	}
	return fmt.Sprintf("%s: %v", e.Path, ErrLocked)
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// maxPIDFile bounds what is read back from a lock file.
const maxPIDFile = 64

// TryLock opens (creating, mode 0600) the file at path and takes its
// exclusive lock without waiting. When another holder has it, the error
// is a *LockedError. The file is never removed: removing it would let two
// processes lock two different files of the same name.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !held {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Path: path, PID: pid}
	}
	// Name the holder. The lock is held whether or not this succeeds.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Acquire opens (creating, mode 0600) the file at path and waits for its
// exclusive lock: for short sections that several processes take in turn.
// Unlike TryLock it writes no process id.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := waitLock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// readPID reads the holder's process id from the start of f, 0 when the
// file holds none (the holder may be writing it right now).
func readPID(f *os.File) int {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, maxPIDFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Unlock releases the lock and closes the file. The process id stays in
// the file; it names nobody once the lock is free.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Close is Unlock, so a Lock can sit among other io.Closers.
func (l *Lock) Close() error { return l.Unlock() }
