package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealprint/sealprint/internal/redact"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/tus/tusd/v2/pkg/filestore"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"
)

// uploadStore is where resumable uploads live until completed: a tusd
// store plus what completing, sweeping and revoking need from it. The
// embedded one is a tusd filestore (uploadArea); the scale-out one is
// tusd's s3store in the blob bucket (s3Uploads).
type uploadStore interface {
	// useIn registers the tusd store's extensions.
	useIn(c *tushandler.StoreComposer)
	// tusID maps a drop id to the upload's tus id, or "" if none exists.
	tusID(ctx context.Context, id string) (string, error)
	// state reports how far the upload of drop id has come.
	state(ctx context.Context, id string) (offset, size int64, exists bool, err error)
	// hash reads the finished upload, returning its size and hex SHA-256.
	hash(ctx context.Context, id string) (int64, string, error)
	// commit makes the verified upload the drop's blob and removes the
	// upload's bookkeeping.
	commit(ctx context.Context, blobs Blobs, id string) error
	// open reads the finished upload's bytes.
	open(ctx context.Context, id string) (io.ReadCloser, error)
	// remove deletes what is left of an upload (never the committed blob).
	remove(ctx context.Context, id string) error
	// inPlace reports whether a finished upload already sits where its
	// blob goes (then a rejected upload's blob must be deleted too).
	inPlace() bool
}

// uploadArea is the embedded upload store: a tusd filestore (<id> and
// <id>.info files) in the upload directory.
type uploadArea struct {
	store tornInfoStore
	// reread counts completions that had to read the upload back.
	reread func()
	log    *slog.Logger
}

func (s *Server) initUploads() error {
	var inner tushandler.Locker = memorylocker.New()
	if s.cfg.Locker != nil {
		inner = s.cfg.Locker
	}
	if pl, ok := inner.(*PGLocker); ok {
		pl.waits = s.metrics.lockWaits.Inc
	}
	s.locker = meteredLocker{inner, s.metrics}
	if b, ok := s.blobs.(*S3Blobs); ok {
		u := newS3Uploads(b, s.cfg.UploadDir)
		u.log, u.reread = s.log, s.metrics.hashRereads.Inc
		s.uploads = u
		return os.MkdirAll(s.cfg.UploadDir, 0o700)
	}
	if err := os.MkdirAll(s.cfg.UploadDir, 0o700); err != nil {
		return fmt.Errorf("upload dir: %w", err)
	}
	fs := filestore.New(s.cfg.UploadDir)
	fs.DirModePerm = 0o700
	fs.FileModePerm = 0o600
	s.uploads = &uploadArea{store: tornInfoStore{FileStore: fs, log: s.log}, reread: s.metrics.hashRereads.Inc, log: s.log}
	return nil
}

func (u *uploadArea) useIn(c *tushandler.StoreComposer) {
	c.UseCore(fullDiskStore{&hashingStore{DataStore: u.store, states: u, dropID: func(tid string) string { return tid }, log: u.log}})
}

func (u *uploadArea) inPlace() bool { return false }

func (u *uploadArea) tusID(ctx context.Context, id string) (string, error) {
	_, err := u.store.GetUpload(ctx, id)
	if errors.Is(err, tushandler.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// tusHandler returns the tus 1.0.0 endpoint under /api/v1/uploads/.
// Creation, HEAD and PATCH need the bearer token of the drop's sender.
func (s *Server) tusHandler() http.Handler {
	composer := tushandler.NewStoreComposer()
	s.uploads.useIn(composer)
	composer.UseLocker(s.locker)
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
	bySender := s.sender(func(w http.ResponseWriter, r *http.Request) {
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/uploads"), "/")
		// An s3store upload is named <drop id>+<multipart id> (its
		// Location); the drop id alone (the create response's upload_url)
		// names it too.
		id, _, _ = strings.Cut(id, "+")
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
			if d.IsReply() {
				// A reply is uploaded by its recipient, with a grant.
				writeError(w, http.StatusNotFound, "no such upload")
				return
			}
			var ok bool
			if r, ok = s.pendingUpload(w, r, d); !ok {
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(relayapi.HeaderReplyGrant) != "" {
			serveGuarded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.replyTus(w, r, inner) }), w, r)
			return
		}
		serveGuarded(bySender, w, r)
	})
}

// pendingUpload checks that drop d still awaits its upload (410
// otherwise) and points r at the upload's tus id. When it returns false
// it has answered.
func (s *Server) pendingUpload(w http.ResponseWriter, r *http.Request, d *Drop) (*http.Request, bool) {
	if st := d.StateAt(s.now()); st != StatePending {
		writeJSON(w, http.StatusGone, relayapi.Error{Error: "drop is " + st, State: st})
		return r, false
	}
	tid, err := s.uploads.tusID(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "find upload", err)
		return r, false
	}
	if tid != "" && tid != d.ID {
		r = r.Clone(r.Context())
		r.URL.Path = "/api/v1/uploads/" + tid
		r.URL.RawPath = ""
	}
	return r, true
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
	grant := replyGrantFrom(ev.Context)
	if snd == nil && grant == "" {
		return none, nochange, tusError(http.StatusUnauthorized, "ERR_UNAUTHORIZED", "missing or unknown enrolment token")
	}
	id, err := DropIDFromMetadata(ev.HTTPRequest.Header.Get("Upload-Metadata"))
	if err != nil {
		return none, nochange, tusError(http.StatusBadRequest, "ERR_BAD_METADATA", err.Error())
	}
	d, err := s.store.Drop(ev.Context, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !s.mayUpload(ev.Context, d, snd, grant)) {
		return none, nochange, tusError(http.StatusNotFound, "ERR_NO_DROP", "no such drop")
	}
	if err != nil {
		return none, nochange, fmt.Errorf("load drop: %w", err)
	}
	if snd == nil {
		snd = &Sender{ID: d.SenderID}
	}
	if st := d.StateAt(s.now()); st != StatePending {
		return none, nochange, tusError(http.StatusConflict, "ERR_DROP_STATE", "drop is "+st)
	}
	if ev.Upload.SizeIsDeferred || ev.Upload.Size != d.Size {
		return none, nochange, tusError(http.StatusBadRequest, "ERR_LENGTH", fmt.Sprintf("Upload-Length must be the drop's size (%d)", d.Size))
	}
	if tid, err := s.uploads.tusID(ev.Context, id); err != nil {
		return none, nochange, fmt.Errorf("find upload: %w", err)
	} else if tid != "" {
		return none, nochange, tusError(http.StatusConflict, "ERR_UPLOAD_EXISTS", "upload already created: resume it with HEAD and PATCH")
	}
	if err := s.record(ev.Context, EventUpload, id, snd.ID, 0); err != nil {
		return none, nochange, err
	}
	s.metrics.uploadsCreated.Inc()
	return none, tushandler.FileInfoChanges{ID: id, MetaData: tushandler.MetaData{"drop": id}}, nil
}

// state reports how far the upload of drop id has come.
func (u *uploadArea) state(ctx context.Context, id string) (offset, size int64, exists bool, err error) {
	return uploadState(ctx, u.store, id)
}

// uploadGetter is the part of a tusd store that uploadState uses.
type uploadGetter interface {
	GetUpload(ctx context.Context, id string) (tushandler.Upload, error)
}

// uploadState reports how far tusd's upload tid (in either store) has
// come; exists is false when the store has no such upload.
func uploadState(ctx context.Context, store uploadGetter, tid string) (offset, size int64, exists bool, err error) {
	up, err := store.GetUpload(ctx, tid)
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

// hashPath is the file holding the upload's saved hash state.
func (u *uploadArea) hashPath(id string) string { return filepath.Join(u.store.Path, id+".sha256") }

func (u *uploadArea) loadHash(ctx context.Context, id string) ([]byte, error) {
	f, err := os.Open(u.hashPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxHashRecord+1))
}

// saveHash writes the record in place, without fsync: a record torn by
// a crash fails its checksum and is not used.
func (u *uploadArea) saveHash(ctx context.Context, id string, rec []byte) error {
	return os.WriteFile(u.hashPath(id), rec, 0o600)
}

func (u *uploadArea) dropHash(ctx context.Context, id string) error {
	if err := os.Remove(u.hashPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// settle flushes the upload's bytes to disk: the PATCH that ends the
// upload pays its one data sync, and the sync before the rename into blob
// storage finds nothing left to write.
func (u *uploadArea) settle(ctx context.Context, id string) error {
	f, err := os.Open(u.binPath(id))
	if err != nil {
		return err
	}
	defer f.Close()
	return datasync(f)
}

// hash returns the finished upload's size and SHA-256: from the state
// saved as it was received when it covers the whole file, else by reading
// it once (the file is flushed to disk meanwhile, so that the fsync before
// the rename into blob storage finds little left to write).
func (u *uploadArea) hash(ctx context.Context, id string) (int64, string, error) {
	f, err := os.Open(u.binPath(id))
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if n, sum, ok := savedSum(ctx, u, id); ok && n == st.Size() {
			return n, sum, nil
		}
	}
	u.reread()
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	h := sha256.New()
	n, err := io.Copy(h, readerCtx{ctx, f})
	if serr := <-synced; err == nil && serr != nil {
		err = fmt.Errorf("sync upload: %w", serr)
	}
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// commit moves the verified upload into blob storage (rename when the
// blob store is on the same disk, copy otherwise) and deletes the upload.
func (u *uploadArea) commit(ctx context.Context, blobs Blobs, id string) error {
	adopted := false
	if a, ok := blobs.(fileAdopter); ok {
		// A rename fails across file systems (uploads and blobs on two
		// disks): the copy below does it then.
		adopted = a.AdoptFile(ctx, id, u.binPath(id)) == nil
	}
	if !adopted {
		f, err := os.Open(u.binPath(id))
		if err != nil {
			return err
		}
		err = blobs.Put(ctx, id, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return u.remove(ctx, id)
}

// open reads the upload's bytes.
func (u *uploadArea) open(ctx context.Context, id string) (io.ReadCloser, error) {
	return os.Open(u.binPath(id))
}

// remove deletes what is left of an upload.
func (u *uploadArea) remove(ctx context.Context, id string) error {
	var errs []error
	for _, p := range []string{u.binPath(id), u.binPath(id) + ".info", u.hashPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lock takes the tusd lock of upload id, so that completing, revoking or
// sweeping never races with a PATCH to it (on any replica, with a shared
// locker).
func (s *Server) lock(ctx context.Context, id string) (func(), error) {
	tid, err := s.uploads.tusID(ctx, id)
	if err != nil {
		return nil, err
	}
	if tid == "" {
		tid = id
	}
	l, err := s.locker.NewLock(tid)
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

// meteredLocker times every acquisition of an upload lock.
type meteredLocker struct {
	tushandler.Locker
	m *metrics
}

func (l meteredLocker) NewLock(id string) (tushandler.Lock, error) {
	lk, err := l.Locker.NewLock(id)
	if err != nil {
		return nil, err
	}
	return meteredLock{lk, l.m}, nil
}

type meteredLock struct {
	inner tushandler.Lock
	m     *metrics
}

func (l meteredLock) Unlock() error { return l.inner.Unlock() }

func (l meteredLock) Lock(ctx context.Context, requestRelease func()) error {
	start := time.Now()
	err := l.inner.Lock(ctx, requestRelease)
	l.m.lockWait.Observe(time.Since(start).Seconds())
	return err
}
