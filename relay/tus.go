package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/redact"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/tus/tusd/v2/pkg/filestore"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"
)

// uploadArea is where resumable uploads live until completed: a tusd
// filestore (<id> and <id>.info files) plus the lock tusd uses, so that
// completing an upload never races with a PATCH to it.
type uploadArea struct {
	store  filestore.FileStore
	locker *memorylocker.MemoryLocker
}

func (s *Server) initUploads() error {
	if err := os.MkdirAll(s.cfg.UploadDir, 0o700); err != nil {
		return fmt.Errorf("upload dir: %w", err)
	}
	fs := filestore.New(s.cfg.UploadDir)
	fs.DirModePerm = 0o700
	fs.FileModePerm = 0o600
	s.uploads = &uploadArea{store: fs, locker: memorylocker.New()}
	return nil
}

// tusHandler returns the tus 1.0.0 endpoint under /api/v1/uploads/.
// Creation, HEAD and PATCH need the bearer token of the drop's sender.
func (s *Server) tusHandler() http.Handler {
	composer := tushandler.NewStoreComposer()
	composer.UseCore(fullDiskStore{s.uploads.store})
	composer.UseLocker(s.uploads.locker)
	// Location headers name the public URL when there is one (a proxy in
	// front would otherwise make them http://internal-host/…).
	base := "/api/v1/uploads/"
	if s.cfg.PublicURL != "" {
		base = strings.TrimRight(s.cfg.PublicURL, "/") + base
	}
	h, err := tushandler.NewHandler(tushandler.Config{
		BasePath:                base,
		StoreComposer:           composer,
		MaxSize:                 s.cfg.MaxSize,
		DisableDownload:         true,
		DisableTermination:      true,
		DisableConcatenation:    true,
		Cors:                    &tushandler.CorsConfig{Disable: true},
		Logger:                  tusLogger(s.log),
		RespectForwardedHeaders: false,
		PreUploadCreateCallback: s.preUploadCreate,
	})
	if err != nil {
		// Only a programming error in the config above gets here.
		panic(fmt.Sprintf("tus handler: %v", err))
	}
	inner := http.StripPrefix("/api/v1/uploads", h)
	return s.sender(func(w http.ResponseWriter, r *http.Request) {
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/uploads"), "/")
		if id != "" {
			// HEAD/PATCH on an upload: it must be a pending drop of this sender.
			if !relayapi.ValidDropID(id) {
				writeError(w, http.StatusNotFound, "no such upload")
				return
			}
			d, err := s.store.Drop(r.Context(), id)
			if errors.Is(err, ErrNotFound) || (err == nil && d.SenderID != senderFrom(r.Context()).ID) {
				writeError(w, http.StatusNotFound, "no such upload")
				return
			}
			if err != nil {
				s.internalError(w, r, "load drop", err)
				return
			}
			if st := d.StateAt(s.now()); st != StatePending {
				writeJSON(w, http.StatusGone, relayapi.Error{Error: "drop is " + st, State: st})
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
}

// DropIDFromMetadata returns the drop id carried by a tus Upload-Metadata
// header ("drop <base64 id>", other keys ignored).
func DropIDFromMetadata(header string) (string, error) {
	if len(header) > 4096 {
		return "", errors.New("Upload-Metadata too long")
	}
	meta := tushandler.ParseMetadataHeader(header)
	id, ok := meta["drop"]
	if !ok {
		return "", errors.New(`Upload-Metadata must carry "drop <base64 drop id>"`)
	}
	if !relayapi.ValidDropID(id) {
		return "", errors.New("Upload-Metadata: invalid drop id")
	}
	return id, nil
}

// tusError is an error answered to a tus client with a JSON body.
func tusError(status int, code, msg string) error {
	e := tushandler.NewError(code, msg, status)
	e.HTTPResponse.Body = fmt.Sprintf("{\"error\":%q}\n", msg)
	e.HTTPResponse.Header = tushandler.HTTPHeader{"Content-Type": "application/json"}
	return e
}

// preUploadCreate binds a new upload to its drop: the id comes from the
// metadata, the drop must be this sender's and pending, the length must be
// the drop's size, and an upload must not exist yet.
func (s *Server) preUploadCreate(ev tushandler.HookEvent) (tushandler.HTTPResponse, tushandler.FileInfoChanges, error) {
	var none tushandler.HTTPResponse
	var nochange tushandler.FileInfoChanges
	snd := senderFrom(ev.Context)
	if snd == nil {
		return none, nochange, tusError(http.StatusUnauthorized, "ERR_UNAUTHORIZED", "missing or unknown enrolment token")
	}
	id, err := DropIDFromMetadata(ev.HTTPRequest.Header.Get("Upload-Metadata"))
	if err != nil {
		return none, nochange, tusError(http.StatusBadRequest, "ERR_BAD_METADATA", err.Error())
	}
	d, err := s.store.Drop(ev.Context, id)
	if errors.Is(err, ErrNotFound) || (err == nil && d.SenderID != snd.ID) {
		return none, nochange, tusError(http.StatusNotFound, "ERR_NO_DROP", "no such drop")
	}
	if err != nil {
		return none, nochange, fmt.Errorf("load drop: %w", err)
	}
	if st := d.StateAt(s.now()); st != StatePending {
		return none, nochange, tusError(http.StatusConflict, "ERR_DROP_STATE", "drop is "+st)
	}
	if ev.Upload.SizeIsDeferred || ev.Upload.Size != d.Size {
		return none, nochange, tusError(http.StatusBadRequest, "ERR_LENGTH", fmt.Sprintf("Upload-Length must be the drop's size (%d)", d.Size))
	}
	if _, err := s.uploads.store.GetUpload(ev.Context, id); err == nil {
		return none, nochange, tusError(http.StatusConflict, "ERR_UPLOAD_EXISTS", "upload already created: resume it with HEAD and PATCH")
	}
	if err := s.record(ev.Context, EventUpload, id, snd.ID, 0); err != nil {
		return none, nochange, err
	}
	s.metrics.uploadsCreated.Inc()
	return none, tushandler.FileInfoChanges{ID: id, MetaData: tushandler.MetaData{"drop": id}}, nil
}

// uploadState reports how far the upload of drop id has come.
func (u *uploadArea) state(ctx context.Context, id string) (offset, size int64, exists bool, err error) {
	up, err := u.store.GetUpload(ctx, id)
	if errors.Is(err, tushandler.ErrNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	info, err := up.GetInfo(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	return info.Offset, info.Size, true, nil
}

// binPath is the file holding the upload's bytes.
func (u *uploadArea) binPath(id string) string { return filepath.Join(u.store.Path, id) }

// open returns the upload's bytes.
func (u *uploadArea) open(id string) (io.ReadCloser, error) { return os.Open(u.binPath(id)) }

// remove deletes what is left of an upload.
func (u *uploadArea) remove(id string) error {
	var errs []error
	for _, p := range []string{u.binPath(id), u.binPath(id) + ".info"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lock takes the tusd lock of upload id.
func (u *uploadArea) lock(ctx context.Context, id string) (func(), error) {
	l, err := u.locker.NewLock(id)
	if err != nil {
		return nil, err
	}
	if err := l.Lock(ctx, func() {}); err != nil {
		return nil, err
	}
	return func() { l.Unlock() }, nil
}

// tusLogger passes tusd's warnings and errors to log; tusd's per-request
// info lines are dropped (Wrap logs every request once).
func tusLogger(log *slog.Logger) *expslog.Logger {
	w := lineWriter(func(line string) { log.Warn("tus", "msg", redact.String(line)) })
	return expslog.New(expslog.NewTextHandler(w, &expslog.HandlerOptions{Level: expslog.LevelWarn}))
}

// lineWriter calls itself with each written line.
type lineWriter func(string)

func (f lineWriter) Write(p []byte) (int, error) {
	f(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
