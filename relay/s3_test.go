package relay

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	tushandler "github.com/tus/tusd/v2/pkg/handler"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// testS3Blobs returns S3 blobs in a fresh bucket of a real versitygw.
func testS3Blobs(t *testing.T, dir string) *S3Blobs {
	t.Helper()
	gw := testutil.StartVersitygw(t)
	o, err := ParseS3URL(gw.S3URL("drops"))
	if err != nil {
		t.Fatal(err)
	}
	o.AccessKey, o.SecretKey = gw.AccessKey, gw.SecretKey
	b, err := NewS3Blobs(o, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseS3URL(t *testing.T) {
	o, err := ParseS3URL("s3://drops?endpoint=http://127.0.0.1:9000&region=eu-west-3")
	if err != nil || o.Bucket != "drops" || o.Endpoint != "http://127.0.0.1:9000" || o.Region != "eu-west-3" {
		t.Fatalf("ParseS3URL = %+v, %v", o, err)
	}
	for _, bad := range []string{"", "drops", "http://drops", "s3://", "s3://key:secret@drops", "s3://drops/sub",
		"s3://drops?endpoint=ftp://x", "s3://drops?acl=public"} {
		if _, err := ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) accepted", bad)
		}
	}
}

// A resumable upload into S3 (two parts, resumed after the first chunk),
// completed, downloaded intact; a corrupt upload is refused and leaves no
// object behind; nothing of the upload's bookkeeping stays.
func TestS3Uploads(t *testing.T) {
	testutil.NeedIntegration(t)
	var blobs *S3Blobs
	h := newHarness(t, func(c *Config) {
		blobs = testS3Blobs(t, filepath.Join(t.TempDir(), "tmp"))
		c.Blobs = blobs
		c.MaxSize = 64 << 20
	})
	ctx := context.Background()
	data := randomBytes(t, S3PartSize+3<<20)
	c := h.create(data, relayapi.CreateDropRequest{})
	resp, body := h.tusCreate(c.ID, int64(len(data)), h.auth()...)
	expect(t, resp, body, http.StatusCreated)
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "/api/v1/uploads/"+c.ID+"+") {
		t.Fatalf("Location %q", loc)
	}
	first := 5 << 20
	resp, body = h.patch(c.ID, 0, data[:first], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	// Resume through the Location path.
	resp, body = h.do("HEAD", strings.TrimPrefix(loc, "https://relay.example"), nil, append(h.auth(), "Tus-Resumable", "1.0.0")...)
	expect(t, resp, body, http.StatusOK)
	if off := resp.Header.Get("Upload-Offset"); off != strconv.Itoa(first) {
		t.Fatalf("Upload-Offset %s after the first chunk", off)
	}
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusConflict)
	resp, body = h.patch(c.ID, int64(first), data[first:], h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	if !bytes.Equal(expect(t, resp, body, http.StatusOK), data) {
		t.Fatal("downloaded blob differs")
	}
	if keys := bucketKeys(t, blobs); len(keys) != 1 || keys[0] != "blobs/"+c.ID {
		t.Fatalf("bucket holds %v after complete", keys)
	}

	// A corrupt upload (right length, wrong bytes) is refused and removed.
	good := randomBytes(t, 1000)
	c2 := h.create(good, relayapi.CreateDropRequest{})
	h.upload(c2.ID, randomBytes(t, 1000))
	resp, body = h.complete(c2.ID)
	expect(t, resp, body, http.StatusUnprocessableEntity)
	if _, _, err := blobs.Open(ctx, c2.ID); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rejected upload's object: %v", err)
	}
	// Revoking deletes the object.
	resp, body = h.do("DELETE", "/api/v1/drops/"+c.ID, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	if keys := bucketKeys(t, blobs); len(keys) != 0 {
		t.Fatalf("bucket holds %v after revoke and reject", keys)
	}
}

// The sweeper aborts multipart uploads no .info names and removes stale
// tusd temp files; a live upload is left alone.
func TestS3SweepLeftovers(t *testing.T) {
	testutil.NeedIntegration(t)
	dir := t.TempDir()
	blobs := testS3Blobs(t, dir)
	u := newS3Uploads(blobs, dir)
	ctx := context.Background()
	orphan, err := blobs.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &blobs.bucket, Key: aws.String("blobs/orphanAAAAAAAAAAAAAAA")})
	if err != nil {
		t.Fatal(err)
	}
	_ = orphan
	tmp := filepath.Join(dir, "tusd-s3-tmp-123")
	if err := os.WriteFile(tmp, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "other")
	os.WriteFile(keep, []byte("x"), 0o600)
	if n, err := u.sweepLeftovers(ctx, 24*time.Hour, nowPlus(0)); err != nil || n != 0 {
		t.Fatalf("fresh leftovers swept: %d, %v", n, err)
	}
	n, err := u.sweepLeftovers(ctx, 0, nowPlus(1))
	if err != nil || n != 2 {
		t.Fatalf("sweepLeftovers = %d, %v; want 2", n, err)
	}
	out, err := blobs.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &blobs.bucket})
	if err != nil || len(out.Uploads) != 0 {
		t.Fatalf("multipart uploads left: %v, %v", out, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("temp part file left")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatal("unrelated file removed")
	}
}

func bucketKeys(t *testing.T, b *S3Blobs) []string {
	t.Helper()
	out, err := b.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &b.bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func nowPlus(sec int) time.Time { return time.Now().Add(time.Duration(sec) * time.Second) }

// A replica killed after storing the last part but before completing the
// multipart upload leaves an upload tusd sees as finished and no object:
// complete finishes it.
func TestS3CompleteAfterUnfinishedMultipart(t *testing.T) {
	testutil.NeedIntegration(t)
	h := newHarness(t, func(c *Config) {
		c.Blobs = testS3Blobs(t, filepath.Join(t.TempDir(), "tmp"))
		c.MaxSize = 64 << 20
	})
	ctx := context.Background()
	data := randomBytes(t, S3PartSize+1000)
	c := h.create(data, relayapi.CreateDropRequest{})
	u := h.srv.uploads.(*s3Uploads)
	up, err := u.store.NewUpload(ctx, tushandler.FileInfo{ID: c.ID, Size: int64(len(data)), MetaData: tushandler.MetaData{"drop": c.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := up.WriteChunk(ctx, 0, bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("WriteChunk = %d, %v", n, err)
	}
	// No FinishUpload: the process died here.
	resp, body := h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	if !bytes.Equal(expect(t, resp, body, http.StatusOK), data) {
		t.Fatal("blob differs")
	}
}
