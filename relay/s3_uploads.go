package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	tushandler "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"

	"github.com/sealprint/sealprint/relayapi"
)

// S3PartSize is the size of every multipart part but the last. tusd's
// minimum part size is set to it too, so that all parts are equal.
const S3PartSize = 8 << 20

// s3Uploads keeps resumable uploads in the blob bucket through tusd's
// s3store: the multipart upload completes straight into blobs/<id>, its
// bookkeeping (.info, .part) lives under uploads/. Only the Core,
// Terminater and ContentServer extensions are used: no concatenation, no
// deferred length.
type s3Uploads struct {
	store  s3store.S3Store
	blobs  *S3Blobs
	tmpDir string
	// reread counts completions that had to read the object back.
	reread func()
	log    *slog.Logger
}

func newS3Uploads(b *S3Blobs, tmpDir string) *s3Uploads {
	st := s3store.New(b.bucket, b.client)
	st.ObjectPrefix = strings.TrimSuffix(s3BlobPrefix, "/")
	st.MetadataObjectPrefix = strings.TrimSuffix(s3UploadPrefix, "/")
	st.MinPartSize = S3PartSize
	st.PreferredPartSize = S3PartSize
	st.MaxBufferedParts = 2
	st.TemporaryDirectory = tmpDir
	return &s3Uploads{store: st, blobs: b, tmpDir: tmpDir, reread: func() {}, log: slog.New(slog.DiscardHandler)}
}

func (u *s3Uploads) useIn(c *tushandler.StoreComposer) {
	hs := &hashingStore{DataStore: u.store, states: u, log: u.log, dropID: func(tid string) string {
		id, _, _ := strings.Cut(tid, "+")
		return id
	}}
	c.UseCore(hs)
	c.UseTerminater(s3Extensions{u.store})
	c.UseContentServer(s3Extensions{u.store})
}

// s3Extensions gives s3store's extensions the store's own upload under
// the hashing wrapper (they assert its type).
type s3Extensions struct{ store s3store.S3Store }

func (e s3Extensions) AsTerminatableUpload(up tushandler.Upload) tushandler.TerminatableUpload {
	return e.store.AsTerminatableUpload(innerUpload(up))
}

func (e s3Extensions) AsServableUpload(up tushandler.Upload) tushandler.ServableUpload {
	return e.store.AsServableUpload(innerUpload(up))
}

// hashKey is the object holding the upload's saved hash state.
func (u *s3Uploads) hashKey(id string) *string { return aws.String(s3UploadPrefix + id + ".sha256") }

func (u *s3Uploads) loadHash(ctx context.Context, id string) ([]byte, error) {
	out, err := u.blobs.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &u.blobs.bucket, Key: u.hashKey(id)})
	if isS3NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("upload hash state %s: %w", id, err)
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, maxHashRecord+1))
}

func (u *s3Uploads) saveHash(ctx context.Context, id string, rec []byte) error {
	_, err := u.blobs.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &u.blobs.bucket, Key: u.hashKey(id),
		Body: bytes.NewReader(rec), ContentLength: aws.Int64(int64(len(rec)))})
	return err
}

func (u *s3Uploads) dropHash(ctx context.Context, id string) error {
	_, err := u.blobs.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &u.blobs.bucket, Key: u.hashKey(id)})
	if err != nil && !isS3NotFound(err) {
		return err
	}
	return nil
}

// settle has nothing to do: a part is durable in the bucket once stored.
func (u *s3Uploads) settle(ctx context.Context, id string) error { return nil }

// objectSize returns the size of the object under blobs/<id>, or an error
// wrapping fs.ErrNotExist.
func (u *s3Uploads) objectSize(ctx context.Context, id string) (int64, error) {
	out, err := u.blobs.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &u.blobs.bucket, Key: aws.String(s3BlobPrefix + id)})
	if isS3NotFound(err) {
		return 0, fmt.Errorf("object %s: %w", id, fs.ErrNotExist)
	}
	if err != nil {
		return 0, fmt.Errorf("object %s: %w", id, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

func (u *s3Uploads) inPlace() bool { return true }

func (u *s3Uploads) infoKey(id string) *string { return aws.String(s3UploadPrefix + id + ".info") }

// tusID reads the upload's .info object, which names the multipart upload.
func (u *s3Uploads) tusID(ctx context.Context, id string) (string, error) {
	if !relayapi.ValidDropID(id) {
		return "", nil
	}
	out, err := u.blobs.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &u.blobs.bucket, Key: u.infoKey(id)})
	if isS3NotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("upload info %s: %w", id, err)
	}
	defer out.Body.Close()
	var info tushandler.FileInfo
	if err := json.NewDecoder(io.LimitReader(out.Body, 64<<10)).Decode(&info); err != nil {
		return "", fmt.Errorf("upload info %s: %w", id, err)
	}
	if obj, _, ok := strings.Cut(info.ID, "+"); !ok || obj != id {
		return "", fmt.Errorf("upload info %s: names upload %q", id, info.ID)
	}
	return info.ID, nil
}

func (u *s3Uploads) state(ctx context.Context, id string) (offset, size int64, exists bool, err error) {
	tid, err := u.tusID(ctx, id)
	if err != nil || tid == "" {
		return 0, 0, false, err
	}
	return uploadState(ctx, u.store, tid)
}

// hash reads the completed object, which is already the blob. A replica
// killed after the last part was stored but before it completed the
// multipart upload leaves every byte in S3 and no object: tusd then sees
// the upload as finished and never completes it, so hash does.
//
// The SHA-256 comes from the state saved as the upload was received when
// it covers the whole upload: the object is then only checked for its
// size, not read back.
func (u *s3Uploads) hash(ctx context.Context, id string) (int64, string, error) {
	if size, sum, ok := savedSum(ctx, u, id); ok {
		n, err := u.objectSize(ctx, id)
		if errors.Is(err, fs.ErrNotExist) {
			if err := u.finish(ctx, id); err != nil {
				return 0, "", err
			}
			n, err = u.objectSize(ctx, id)
		}
		if err != nil {
			return 0, "", err
		}
		if n == size {
			return n, sum, nil
		}
	}
	u.reread()
	b, _, err := u.blobs.Open(ctx, id)
	if errors.Is(err, fs.ErrNotExist) {
		if err := u.finish(ctx, id); err != nil {
			return 0, "", err
		}
		b, _, err = u.blobs.Open(ctx, id)
	}
	if err != nil {
		return 0, "", err
	}
	defer b.Close()
	h := sha256.New()
	n, err := io.Copy(h, readerCtx{ctx, b})
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// finish completes the multipart upload of a fully received upload.
func (u *s3Uploads) finish(ctx context.Context, id string) error {
	tid, err := u.tusID(ctx, id)
	if err != nil {
		return err
	}
	if tid == "" {
		return fmt.Errorf("finish upload %s: %w", id, fs.ErrNotExist)
	}
	up, err := u.store.GetUpload(ctx, tid)
	if err != nil {
		return fmt.Errorf("finish upload %s: %w", id, err)
	}
	if err := up.FinishUpload(ctx); err != nil {
		return fmt.Errorf("finish upload %s: %w", id, err)
	}
	return nil
}

// open reads the completed object (finishing it if need be, see hash).
func (u *s3Uploads) open(ctx context.Context, id string) (io.ReadCloser, error) {
	b, _, err := u.blobs.Open(ctx, id)
	if errors.Is(err, fs.ErrNotExist) {
		if err := u.finish(ctx, id); err != nil {
			return nil, err
		}
		b, _, err = u.blobs.Open(ctx, id)
	}
	return b, err
}

// commit leaves the object where it is and drops the bookkeeping.
func (u *s3Uploads) commit(ctx context.Context, _ Blobs, id string) error {
	return u.remove(ctx, id)
}

// remove aborts the multipart upload, if still open, and deletes the
// .info and .part objects; the object under blobs/ stays.
func (u *s3Uploads) remove(ctx context.Context, id string) error {
	tid, err := u.tusID(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	if _, mp, ok := strings.Cut(tid, "+"); ok {
		_, err := u.blobs.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: &u.blobs.bucket, Key: aws.String(s3BlobPrefix + id), UploadId: aws.String(mp)})
		var nsu *types.NoSuchUpload
		if err != nil && !errors.As(err, &nsu) && !strings.Contains(err.Error(), "NoSuchUpload") {
			errs = append(errs, fmt.Errorf("abort upload %s: %w", id, err))
		}
	}
	for _, k := range []string{s3UploadPrefix + id + ".part", s3UploadPrefix + id + ".info", s3UploadPrefix + id + ".sha256"} {
		if _, err := u.blobs.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &u.blobs.bucket, Key: aws.String(k)}); err != nil && !isS3NotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// sweepLeftovers aborts multipart uploads under blobs/ that no .info
// names any more and older than age (a crash between creating the
// multipart upload and writing its .info, or a removal that failed), and
// deletes tusd's temporary part files older than age. It returns how
// many it removed.
func (u *s3Uploads) sweepLeftovers(ctx context.Context, age time.Duration, now time.Time) (int, error) {
	n := 0
	var errs []error
	in := &s3.ListMultipartUploadsInput{Bucket: &u.blobs.bucket, Prefix: aws.String(s3BlobPrefix)}
	for {
		out, err := u.blobs.client.ListMultipartUploads(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Errorf("list multipart uploads: %w", err))
			break
		}
		for _, mp := range out.Uploads {
			if mp.Initiated == nil || now.Sub(*mp.Initiated) < age {
				continue
			}
			id := strings.TrimPrefix(aws.ToString(mp.Key), s3BlobPrefix)
			tid, err := u.tusID(ctx, id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if tid == id+"+"+aws.ToString(mp.UploadId) {
				continue // a live upload; the drop's expiry removes it
			}
			if _, err := u.blobs.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: &u.blobs.bucket, Key: mp.Key, UploadId: mp.UploadId}); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	files, _ := filepath.Glob(filepath.Join(u.tmpDir, "tusd-s3-tmp-*"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && now.Sub(st.ModTime()) >= age {
			if err := os.Remove(f); err == nil {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}
