package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relayapi"
)

// Blobs stores ciphertext by drop id. The embedded implementation is
// FileBlobs; an object store (S3) can implement the same interface.
type Blobs interface {
	// Put stores r's content as the blob id. The blob is durable when Put
	// returns nil, and nothing is visible under id before that.
	Put(ctx context.Context, id string, r io.Reader) error
	// Open returns the blob and its size, or an error wrapping
	// fs.ErrNotExist.
	Open(ctx context.Context, id string) (io.ReadCloser, int64, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, id string) error
}

// fileAdopter is implemented by blob stores on the same file system as
// the upload area: they take a finished upload file over by renaming it
// instead of copying it.
type fileAdopter interface {
	AdoptFile(ctx context.Context, id, path string) error
}

// FileBlobs keeps each blob as a file under Dir, fanned out by the first
// two characters of the id.
type FileBlobs struct {
	Dir string
}

var _ Blobs = (*FileBlobs)(nil)

// NewFileBlobs returns blob storage under dir, creating it if needed.
func NewFileBlobs(dir string) (*FileBlobs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	return &FileBlobs{Dir: dir}, nil
}

func (b *FileBlobs) path(id string) (string, error) {
	if !relayapi.ValidDropID(id) {
		return "", fmt.Errorf("blob %q: invalid id", id)
	}
	return filepath.Join(b.Dir, id[:2], id), nil
}

// Put writes the blob: temp file → fsync → rename → fsync dir.
func (b *FileBlobs) Put(ctx context.Context, id string, r io.Reader) error {
	p, err := b.path(id)
	if err != nil {
		return err
	}
	if err := b.mkdir(p); err != nil {
		return err
	}
	return atomicfile.Write(p, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, readerCtx{ctx, r})
		return err
	})
}

// AdoptFile moves a finished file into the store: sync → rename → sync
// both directories. path must be on the same file system.
//
// Each sync is a journal commit, and completions wait for them: the file
// gets an fdatasync (an upload's was synced as it ended, so nothing is
// left but its times, which it need not carry), an fsync only when its
// mode had to change, and both directories are synced at once.
func (b *FileBlobs) AdoptFile(ctx context.Context, id, path string) error {
	p, err := b.path(id)
	if err != nil {
		return err
	}
	if err := b.mkdir(p); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("adopt blob %s: %w", id, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("adopt blob %s: %w", id, err)
	}
	if st.Mode().Perm() != 0o600 {
		if err = f.Chmod(0o600); err == nil {
			err = f.Sync()
		}
	} else {
		err = datasync(f)
	}
	if err != nil {
		return fmt.Errorf("adopt blob %s: sync: %w", id, err)
	}
	if err := atomicfile.Rename(path, p); err != nil {
		return fmt.Errorf("adopt blob %s: %w", id, err)
	}
	from := make(chan error, 1)
	go func() { from <- atomicfile.SyncDir(filepath.Dir(path)) }()
	err = atomicfile.SyncDir(filepath.Dir(p))
	return errors.Join(err, <-from)
}

func (b *FileBlobs) mkdir(p string) error {
	dir := filepath.Dir(p)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("blob dir: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(dir))
}

// Open returns the blob file and its size.
func (b *FileBlobs) Open(ctx context.Context, id string) (io.ReadCloser, int64, error) {
	p, err := b.path(id)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
	}
	return f, st.Size(), nil
}

// Delete removes the blob file.
func (b *FileBlobs) Delete(ctx context.Context, id string) error {
	p, err := b.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	return nil
}

// readerCtx stops a copy when its context is canceled.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
