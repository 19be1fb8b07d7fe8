package installer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// ManifestName is the file, in sealprint's home, that records what
// 'sealprint install' added to the system.
const ManifestName = "install.json"

// Manifest records what an install added, and nothing it found already
// there, so that uninstall removes exactly that.
type Manifest struct {
	// Service is true when install registered the background service.
	Service bool `json:"service,omitempty"`
	// Printers are the system printers install registered.
	Printers []string `json:"printers,omitempty"`
	// Files are files install created (config, keys, autostart entries).
	Files []string `json:"files,omitempty"`
	// Dirs are directories install created; uninstall removes them when
	// they are empty.
	Dirs []string `json:"dirs,omitempty"`
	// Secrets are the names of secrets install put in the OS keyring (the
	// sender key), which live outside the files.
	Secrets []string `json:"secrets,omitempty"`
	// RunKey is true when install added the agent to the Windows Run key.
	RunKey bool `json:"run_key,omitempty"`
}

// maxManifest bounds the manifest file.
const maxManifest = 1 << 20

// LoadManifest reads the manifest at path; a missing file is an empty one.
func LoadManifest(path string) (*Manifest, error) {
	var m Manifest
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read install manifest: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(&limitReader{f, maxManifest})
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse install manifest %s: %w", path, err)
	}
	return &m, nil
}

// Save writes the manifest at path atomically (mode 0600).
func (m *Manifest) Save(path string) error {
	sort.Strings(m.Printers)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// AddPrinter records a printer install registered.
func (m *Manifest) AddPrinter(name string) {
	if !slices.Contains(m.Printers, name) {
		m.Printers = append(m.Printers, name)
	}
}

// AddFile records a file install created.
func (m *Manifest) AddFile(path string) {
	if !slices.Contains(m.Files, path) {
		m.Files = append(m.Files, path)
	}
}

// AddDir records a directory install created.
func (m *Manifest) AddDir(path string) {
	if !slices.Contains(m.Dirs, path) {
		m.Dirs = append(m.Dirs, path)
	}
}

// MkdirAll creates dir and its missing parents, recording each directory
// it created.
func (m *Manifest) MkdirAll(dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, d := range missing {
		if !slices.Contains(m.Dirs, d) {
			m.Dirs = append(m.Dirs, d)
		}
	}
	return nil
}

// RemoveFiles deletes the recorded files, then the recorded directories
// that are empty, deepest first. It returns the directories it had to
// leave because something else was put in them.
func (m *Manifest) RemoveFiles() (kept []string, err error) {
	var errs []error
	for _, f := range m.Files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	dirs := append([]string(nil), m.Dirs...)
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			kept = append(kept, d)
		}
	}
	return kept, errors.Join(errs...)
}

// limitReader fails once more than n bytes were read.
type limitReader struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("install manifest larger than 1 MiB")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}
