package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sealprint/sealprint/relayapi"
)

// Object key prefixes in the bucket: verified ciphertext (and finished
// uploads, which complete in place) under blobs/, tus bookkeeping (.info,
// .part) under uploads/.
const (
	s3BlobPrefix   = "blobs/"
	s3UploadPrefix = "uploads/"
)

// S3Options locate a bucket on an S3-compatible server.
type S3Options struct {
	Bucket    string
	Endpoint  string // http(s)://host:port; empty: AWS
	Region    string
	AccessKey string
	SecretKey string
	// HTTPClient is optional (default: the SDK's). With one, every
	// request goes through it.
	HTTPClient *http.Client
	// NoDirect keeps the SDK for ranged reads from a plain-HTTP endpoint
	// too (see s3Direct).
	NoDirect bool
}

// ParseS3URL reads s3://BUCKET?endpoint=URL&region=R. Credentials are not
// part of the URL (they come from the environment).
func ParseS3URL(raw string) (S3Options, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return S3Options{}, errors.New("blobs URL must be s3://BUCKET?endpoint=URL&region=R")
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return S3Options{}, fmt.Errorf("blobs URL: unknown parameter %q", k)
		}
	}
	o := S3Options{Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		e, err := url.Parse(o.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil ||
			(e.Path != "" && e.Path != "/") || e.RawQuery != "" || e.Fragment != "" {
			return S3Options{}, errors.New("blobs URL: endpoint must be an http(s) URL with no path or credentials")
		}
		o.Endpoint = e.Scheme + "://" + e.Host
	}
	return o, nil
}

// s3IdleConns is how many idle connections to the bucket a replica keeps
// for reuse.
const s3IdleConns = 256

// S3Blobs keeps ciphertext in an S3 bucket, one object per drop.
type S3Blobs struct {
	client *s3.Client
	bucket string
	tmpDir string
	// direct reads ranges without the SDK when the endpoint is plain
	// HTTP (s3_direct.go); nil otherwise.
	direct *s3Direct
}

var (
	_ Blobs       = (*S3Blobs)(nil)
	_ rangeOpener = (*S3Blobs)(nil)
)

// NewS3Blobs returns blob storage in the bucket of o. Requests use
// path-style addressing and compute checksums only when the operation
// requires them: the SDK's default CRC32 trailers break many servers
// that are not AWS. tmpDir holds Put's spool files.
func NewS3Blobs(o S3Options, tmpDir string) (*S3Blobs, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return nil, errors.New("s3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
	}
	creds := aws.Credentials{AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey, Source: "sealrelay"}
	opts := s3.Options{
		Region:       o.Region,
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	if o.HTTPClient != nil {
		opts.HTTPClient = o.HTTPClient
	} else {
		// The SDK keeps 10 idle connections per host: under hundreds of
		// concurrent downloads every other GetObject dialled the bucket
		// anew and the closed connections piled up in TIME_WAIT.
		opts.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = s3IdleConns
			tr.MaxIdleConnsPerHost = s3IdleConns
		})
	}
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3 temp dir: %w", err)
	}
	b := &S3Blobs{client: s3.New(opts), bucket: o.Bucket, tmpDir: tmpDir}
	if o.HTTPClient == nil && !o.NoDirect && o.Endpoint != "" {
		b.direct = newS3Direct(o.Endpoint, o.Bucket, o.Region, creds)
	}
	return b, nil
}

func (b *S3Blobs) key(id string) (*string, error) {
	if !relayapi.ValidDropID(id) {
		return nil, fmt.Errorf("blob %q: invalid id", id)
	}
	return aws.String(s3BlobPrefix + id), nil
}

// Put uploads r as the blob id. The body is spooled to a temp file first
// so the request has a length and can be retried.
func (b *S3Blobs) Put(ctx context.Context, id string, r io.Reader) error {
	key, err := b.key(id)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(b.tmpDir, "put-")
	if err != nil {
		return fmt.Errorf("put blob %s: %w", id, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, readerCtx{ctx, r})
	if err != nil {
		return fmt.Errorf("put blob %s: %w", id, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.bucket, Key: key, Body: f, ContentLength: aws.Int64(n)})
	if err != nil {
		return fmt.Errorf("put blob %s: %w", id, err)
	}
	return nil
}

// Open streams the blob.
func (b *S3Blobs) Open(ctx context.Context, id string) (io.ReadCloser, int64, error) {
	key, err := b.key(id)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: key})
	if err != nil {
		if isS3NotFound(err) {
			return nil, 0, fmt.Errorf("open blob %s: %w", id, fs.ErrNotExist)
		}
		return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// OpenRange streams bytes [start, end) of the blob with a ranged
// GetObject, so that a download continued past its start does not make
// the server read (and send) the prefix again. It returns the blob's
// whole size, from the answer's Content-Range.
func (b *S3Blobs) OpenRange(ctx context.Context, id string, start, end int64) (io.ReadCloser, int64, error) {
	key, err := b.key(id)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	if start < 0 || end <= start {
		return nil, 0, fmt.Errorf("open blob %s: bad range %d-%d", id, start, end)
	}
	if b.direct != nil {
		body, size, err := b.direct.openRange(ctx, *key, start, end)
		switch {
		case err == nil:
			return body, size, nil
		case errors.Is(err, fs.ErrNotExist):
			return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
		case ctx.Err() != nil:
			return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
		}
		// Anything else: the SDK, with its retries, tries again.
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: key,
		Range: aws.String("bytes=" + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(end-1, 10))})
	if err != nil {
		if isS3NotFound(err) {
			return nil, 0, fmt.Errorf("open blob %s: %w", id, fs.ErrNotExist)
		}
		return nil, 0, fmt.Errorf("open blob %s: %w", id, err)
	}
	size, ok := contentRangeSize(aws.ToString(out.ContentRange))
	if !ok || aws.ToInt64(out.ContentLength) != end-start {
		out.Body.Close()
		return nil, 0, fmt.Errorf("open blob %s: range answered with Content-Range %q, %d bytes",
			id, aws.ToString(out.ContentRange), aws.ToInt64(out.ContentLength))
	}
	return out.Body, size, nil
}

// contentRangeSize reads the complete length of "bytes A-B/SIZE".
func contentRangeSize(h string) (int64, bool) {
	_, total, ok := strings.Cut(h, "/")
	if !ok || !strings.HasPrefix(h, "bytes ") {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil && n >= 0
}

// Delete removes the blob; S3 answers success for a missing key.
func (b *S3Blobs) Delete(ctx context.Context, id string) error {
	key, err := b.key(id)
	if err != nil {
		return err
	}
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: key}); err != nil && !isS3NotFound(err) {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	return nil
}

// Ping checks that the bucket is reachable with these credentials.
func (b *S3Blobs) Ping(ctx context.Context) error {
	if _, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &b.bucket}); err != nil {
		return fmt.Errorf("bucket %s: %w", b.bucket, err)
	}
	return nil
}

// CreateBucket creates the bucket if it does not exist (tests, first
// setup).
func (b *S3Blobs) CreateBucket(ctx context.Context) error {
	_, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("create bucket %s: %w", b.bucket, err)
	}
	return nil
}

func isS3NotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}
