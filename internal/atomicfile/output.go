package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteOutput writes what fill produces to a user-chosen output path.
//
// A regular file, or a path that does not exist yet, is replaced atomically
// as Write does; a symbolic link to a regular file keeps the link and
// replaces its target. A character device, a FIFO or a socket (/dev/null,
// /dev/stdout, a named pipe) is opened and written directly: renaming a temp
// file over it would destroy it (run as root, over /dev/null, it would
// replace the system's /dev/null with a regular file). A directory or a
// block device is refused with an error that says so.
func WriteOutput(path string, perm os.FileMode, fill func(io.Writer) error) error {
	kind, resolved, err := OutputKind(path)
	if err != nil {
		return err
	}
	if kind == Regular {
		return Write(resolved, perm, fill)
	}
	return writeDirect(path, fill)
}

// Kind says how WriteOutput treats an output path.
type Kind int

const (
	// Regular is a regular file or a path that does not exist: replaced atomically.
	Regular Kind = iota
	// Direct is a character device, FIFO or socket: opened and written in place.
	Direct
)

// OutputKind classifies an output path. For Regular it also returns the path
// to replace: the target of a symbolic link, so the link itself survives.
// A directory, a block device or anything else is an error.
func OutputKind(path string) (Kind, string, error) {
	if path == "" {
		return 0, "", errors.New("empty output path")
	}
	st, err := os.Stat(path) // follows links: /dev/stdout → /proc/self/fd/1 → the real thing
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); lerr == nil {
			return 0, "", fmt.Errorf("output %s is a dangling symbolic link: refusing to write through it", path)
		}
		return Regular, path, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("output %s: %w", path, err)
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			return 0, "", fmt.Errorf("output %s: %w", path, err)
		}
		return Regular, resolved, nil
	case m.IsDir():
		return 0, "", fmt.Errorf("output %s is a directory: give a file name", path)
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0:
		return 0, "", fmt.Errorf("output %s is a block device: refusing to write a document over it", path)
	case m&(fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
		return Direct, path, nil
	default:
		return 0, "", fmt.Errorf("output %s is not a regular file (%v): refusing to replace it", path, m.Type())
	}
}

// writeDirect opens an existing special file for writing, never creating or
// truncating anything, and writes fill's output to it.
func writeDirect(path string, fill func(io.Writer) error) error {
	f, err := openDirect(path)
	if err != nil {
		return fmt.Errorf("open output %s: %w", path, err)
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// openDirect opens path for writing without O_CREATE or O_TRUNC. The standard
// streams are used as they are: opening /proc/self/fd/N of a socket fails
// on Linux, and a duplicate would be closed separately.
func openDirect(path string) (io.WriteCloser, error) {
	switch path {
	case "/dev/stdout", "/proc/self/fd/1", "/dev/fd/1":
		return nopCloser{os.Stdout}, nil
	case "/dev/stderr", "/proc/self/fd/2", "/dev/fd/2":
		return nopCloser{os.Stderr}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
