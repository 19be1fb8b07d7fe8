package relay

import (
	"context"
	"io"
	"net/http"

	tushandler "github.com/tus/tusd/v2/pkg/handler"

	"github.com/sealprint/sealprint/internal/diskfull"
)

// errStorageFull is what a client gets when the upload area's disk is
// full: 507, and the bytes already stored stay, so the upload resumes from
// its offset (HEAD) once space returns.
var errStorageFull = tushandler.NewError("ERR_INSUFFICIENT_STORAGE",
	"the relay's disk is full: resume the upload later", http.StatusInsufficientStorage)

// fullDiskStore turns a full disk under the tus store into 507.
type fullDiskStore struct{ tushandler.DataStore }

func (s fullDiskStore) NewUpload(ctx context.Context, info tushandler.FileInfo) (tushandler.Upload, error) {
	u, err := s.DataStore.NewUpload(ctx, info)
	if err != nil {
		return nil, mapFull(err)
	}
	return fullDiskUpload{u}, nil
}

func (s fullDiskStore) GetUpload(ctx context.Context, id string) (tushandler.Upload, error) {
	u, err := s.DataStore.GetUpload(ctx, id)
	if err != nil {
		return nil, mapFull(err)
	}
	return fullDiskUpload{u}, nil
}

type fullDiskUpload struct{ tushandler.Upload }

func (u fullDiskUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	n, err := u.Upload.WriteChunk(ctx, offset, src)
	return n, mapFull(err)
}

func (u fullDiskUpload) FinishUpload(ctx context.Context) error {
	return mapFull(u.Upload.FinishUpload(ctx))
}

// mapFull returns errStorageFull for a full-disk error, else err.
func mapFull(err error) error {
	if err != nil && diskfull.Is(err) {
		return errStorageFull
	}
	return err
}
