package uploader

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// tusVersion is the tus protocol version spoken.
const tusVersion = "1.0.0"

// stallTimeout cancels a PATCH whose body has not moved for this long.
const stallTimeout = 90 * time.Second

// UploadStats describes what an upload did; see UploadWithStats.
type UploadStats struct {
	// Sent is every body byte handed to the network, re-sent ones included.
	Sent int64
	// Failures is how many requests failed and were retried.
	Failures int
	// Chunks is how many PATCH requests succeeded.
	Chunks int
}

// Upload sends size bytes of body as the drop's ciphertext with the tus
// protocol. It resumes from the relay's offset after any failure, retries
// temporary failures with backoff and returns permanent ones (401, 403,
// 404, 413, other 4xx, proxy authentication) at once. progress, if not
// nil, is called with the bytes sent so far.
func (c *Client) Upload(ctx context.Context, dropID string, body io.ReaderAt, size int64, progress func(sent, total int64)) error {
	_, err := c.UploadWithStats(ctx, dropID, body, size, progress)
	return err
}

// UploadWithStats is Upload, also returning what the upload did.
func (c *Client) UploadWithStats(ctx context.Context, dropID string, body io.ReaderAt, size int64, progress func(sent, total int64)) (UploadStats, error) {
	var st UploadStats
	if err := checkID(dropID); err != nil {
		return st, err
	}
	if size < 0 {
		return st, fmt.Errorf("upload drop %s: negative size", dropID)
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	u := &tusUpload{c: c, id: dropID, path: "/api/v1/uploads/" + dropID, size: size, body: body,
		progress: progress, stats: &st, chunk: c.chunk}
	err := u.run(ctx)
	if err != nil {
		return st, fmt.Errorf("upload drop %s: %w", dropID, err)
	}
	return st, nil
}

// tusUpload is the state of one upload.
type tusUpload struct {
	c        *Client
	id       string
	path     string // relay path of the upload resource
	size     int64
	body     io.ReaderAt
	progress func(sent, total int64)
	stats    *UploadStats
	chunk    chunkSizer
}

func (u *tusUpload) run(ctx context.Context) error {
	offset := int64(-1) // unknown: ask the relay
	failures := 0
	lastFailedAt := int64(-1)
	for {
		var err error
		patching := false
		if offset < 0 {
			offset, err = u.offset(ctx)
		}
		if err == nil {
			if offset == u.size {
				u.progress(u.size, u.size)
				return nil
			}
			n := min(u.chunk.cur, u.size-offset)
			start := u.c.now()
			var next int64
			patching = true
			next, err = u.patch(ctx, offset, n)
			if err == nil {
				u.chunk.success(n, u.c.now().Sub(start))
				u.stats.Chunks++
				offset = next
				continue
			}
		}
		if patching && tooLarge(err) && u.chunk.cur > u.chunk.min {
			// A proxy limits request bodies: smaller chunks get through.
			u.chunk.cur = max(u.chunk.min, u.chunk.cur/4)
			u.chunk.max = u.chunk.cur // and never grow past the limit again
			u.stats.Failures++
			u.c.logger.Info("chunk refused as too large; shrinking", "drop", u.id, "chunk", u.chunk.cur)
			offset = -1
			continue
		}
		if IsPermanent(err) {
			return err
		}
		if offset > lastFailedAt {
			failures = 0 // progress since the last failure
		}
		lastFailedAt = max(offset, lastFailedAt)
		failures++
		u.stats.Failures++
		u.chunk.failure()
		if failures >= u.c.retry.Attempts {
			return fmt.Errorf("giving up after %d failures in a row: %w", failures, err)
		}
		d := u.c.retry.delay(failures, u.c.randFunc)
		u.c.logger.Info("upload interrupted; resuming", "drop", u.id, "offset", max(offset, 0), "retry_in", d, "err", err)
		if err := u.c.sleep(ctx, d); err != nil {
			return err
		}
		offset = -1
	}
}

// tooLarge reports a 413 answer to a PATCH (a body-size limit on the way).
func tooLarge(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusRequestEntityTooLarge
}

// offset asks the relay how much it has (HEAD), creating the upload if it
// does not exist yet.
func (u *tusUpload) offset(ctx context.Context) (int64, error) {
	off, err := u.head(ctx)
	var ae *APIError
	if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return off, err
	}
	if err := u.create(ctx); err != nil {
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			return u.head(ctx) // created by an earlier try: resume
		}
		return 0, err
	}
	return 0, nil
}

func (u *tusUpload) head(ctx context.Context) (int64, error) {
	req, err := u.c.newRequest(ctx, http.MethodHead, u.path, nil, true)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	resp, err := u.c.do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	off, err := parseOffset(resp.Header.Get("Upload-Offset"))
	if err != nil {
		return 0, fmt.Errorf("HEAD %s: %w", u.path, err)
	}
	if l := resp.Header.Get("Upload-Length"); l != "" {
		n, err := parseOffset(l)
		if err != nil || n != u.size {
			return 0, &APIError{Status: http.StatusUnprocessableEntity,
				Message: fmt.Sprintf("relay has an upload of length %s, want %d", clean(l, 20), u.size)}
		}
	}
	if off > u.size {
		return 0, &APIError{Status: http.StatusUnprocessableEntity, Message: fmt.Sprintf("relay offset %d beyond size %d", off, u.size)}
	}
	return off, nil
}

func (u *tusUpload) create(ctx context.Context) error {
	req, err := u.c.newRequest(ctx, http.MethodPost, "/api/v1/uploads/", nil, true)
	if err != nil {
		return err
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	req.Header.Set("Upload-Length", strconv.FormatInt(u.size, 10))
	req.Header.Set("Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(u.id)))
	resp, err := u.c.do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		lu, err := url.Parse(loc)
		if err != nil {
			return fmt.Errorf("create upload: bad Location: %w", redactURLError(err))
		}
		abs := u.c.base.ResolveReference(lu)
		if abs.Host != u.c.base.Host || abs.Scheme != u.c.base.Scheme {
			return fmt.Errorf("create upload: relay sent the upload to another host %s", clean(abs.Host, 100))
		}
		u.path = abs.EscapedPath()[len(u.c.base.EscapedPath()):]
	}
	return nil
}

// patch sends n bytes from offset and returns the relay's new offset.
func (u *tusUpload) patch(ctx context.Context, offset, n int64) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := &progressReader{r: io.NewSectionReader(u.body, offset, n), base: offset, size: n, total: u.size,
		progress: u.progress}
	body.touch()
	stopWatch := watchStall(body, func() { cancel(errors.New("upload stalled")) })
	defer stopWatch()

	req, err := u.c.newRequest(ctx, http.MethodPatch, u.path, body, true)
	if err != nil {
		return 0, err
	}
	req.ContentLength = n
	req.GetBody = nil
	req.Header.Set("Tus-Resumable", tusVersion)
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err := u.c.do(req)
	u.stats.Sent += body.n.Load()
	if rerr := body.readErr(); rerr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return 0, &LocalReadError{Err: rerr}
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !isContextError(cause) {
			return 0, fmt.Errorf("%w: %w", cause, err)
		}
		return 0, err
	}
	resp.Body.Close()
	next, err := parseOffset(resp.Header.Get("Upload-Offset"))
	if err != nil {
		return 0, fmt.Errorf("PATCH %s: %w", u.path, err)
	}
	if next <= offset || next > offset+n {
		return 0, fmt.Errorf("PATCH %s: relay answered offset %d after %d+%d", u.path, next, offset, n)
	}
	return next, nil
}

// progressReader counts bytes read from a chunk and reports the total.
type progressReader struct {
	r        io.Reader
	base     int64 // offset of the chunk
	size     int64 // length of the chunk
	total    int64
	progress func(sent, total int64)
	n        atomic.Int64
	last     atomic.Int64 // unix nanos of the last read
	done     atomic.Bool
	err      atomic.Value // first read error other than EOF
}

// readErr returns the error reading the local body, if any.
func (p *progressReader) readErr() error {
	if e, ok := p.err.Load().(error); ok {
		return e
	}
	return nil
}

// LocalReadError means the document to upload could not be read: retrying
// the network will not help.
type LocalReadError struct{ Err error }

func (e *LocalReadError) Error() string { return "read the document to upload: " + e.Err.Error() }
func (e *LocalReadError) Unwrap() error { return e.Err }

func (p *progressReader) touch() { p.last.Store(time.Now().UnixNano()) }

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.touch()
		sent := p.n.Add(int64(n))
		p.progress(p.base+sent, p.total)
		if sent >= p.size {
			p.done.Store(true) // all handed over: now waiting for the answer
		}
	}
	if err != nil {
		p.done.Store(true)
		if err != io.EOF {
			p.err.CompareAndSwap(nil, err)
		}
	}
	return n, err
}

// watchStall calls stall when the body has not been read for stallTimeout
// while unfinished. The returned function stops the watch.
func watchStall(p *progressReader, stall func()) func() {
	t := time.NewTicker(stallTimeout / 6)
	quit := make(chan struct{})
	var once sync.Once
	go func() {
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				if !p.done.Load() && now.Sub(time.Unix(0, p.last.Load())) > stallTimeout {
					stall()
					return
				}
			}
		}
	}()
	return func() { once.Do(func() { close(quit) }) }
}
