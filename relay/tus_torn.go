package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/tus/tusd/v2/pkg/filestore"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
)

// tornInfoStore is the embedded tusd filestore with one difference: an
// upload whose <id>.info file is not whole JSON is an upload whose
// creation a crash interrupted, and is reported as not found instead of
// failing every request to it.
//
// The filestore writes <id>.info last when it creates an upload, by
// truncating the file then writing it, and rewrites it at no other time
// with the extensions the relay uses: a relay killed between the two
// leaves an empty or cut file. That creation was never answered 201, and
// the client creates the upload again (a HEAD answered 404 makes it start
// over): the new creation overwrites both files, and the sweeper removes
// them with the drop otherwise. Before, the HEAD got a 500, and so did
// every retry and every new creation.
type tornInfoStore struct {
	filestore.FileStore
	log *slog.Logger
}

// GetUpload returns the upload, or tushandler.ErrNotFound for one with a
// torn info file.
func (s tornInfoStore) GetUpload(ctx context.Context, id string) (tushandler.Upload, error) {
	up, err := s.FileStore.GetUpload(ctx, id)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if err == nil || !(errors.As(err, &syntax) || errors.As(err, &typ)) {
		return up, err
	}
	if s.log != nil {
		s.log.WarnContext(ctx, "upload info torn by a crash during its creation: taken as not created", "upload", id, "err", err)
	}
	return nil, tushandler.ErrNotFound
}
