package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// rangeSize is how much of a blob one request asks for. The recipient's
// page read a large document in 8 MiB ranges when docs/relay.md's figures
// were taken; it now asks for 32 MiB (api.js), which a 10 MiB blob gets in
// one request: kept at 8 MiB so that runs stay comparable.
const rangeSize = 8 << 20

// result is one round of one scenario.
type result struct {
	n, errs  int
	firstErr string
	bytes    int64
	wall     time.Duration
	lats     []time.Duration
	rss      []int64 // peak RSS of each server process, bytes
}

func (r result) mibps() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.bytes) / (1 << 20) / r.wall.Seconds()
}

func (r result) pct(p float64) time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.lats...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// job is one download or upload; it returns the payload bytes moved.
type job func(ctx context.Context, hc *http.Client, i int) (int64, error)

// newClient is an HTTP client for conc concurrent requests to one host.
func newClient(conc int) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
			DisableCompression: true, IdleConnTimeout: time.Minute,
			WriteBufferSize: 64 << 10, ReadBufferSize: 64 << 10,
		},
	}
}

// load runs conc jobs at once (all released together) and measures the
// wall time from release to the last one's end.
func load(ctx context.Context, conc int, j job) result {
	hc := newClient(conc)
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	var mu sync.Mutex
	res := result{n: conc}
	gate := make(chan struct{})
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t0 := time.Now()
			n, err := j(ctx, hc, i)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.bytes += n
			if err != nil {
				res.errs++
				if res.firstErr == "" {
					res.firstErr = err.Error()
				}
				return
			}
			res.lats = append(res.lats, d)
		}()
	}
	t0 := time.Now()
	close(gate)
	wg.Wait()
	res.wall = time.Since(t0)
	return res
}

// getRange fetches url (with a Range header when rng is not "") and
// returns the bytes read and the response headers. h, when not nil,
// receives the body.
func getRange(ctx context.Context, hc *http.Client, u, rng string, hdr map[string]string, h hash.Hash) (int64, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, nil, fmt.Errorf("GET %s: %s %s", u, resp.Status, bytes.TrimSpace(b))
	}
	var w io.Writer = io.Discard
	if h != nil {
		w = h
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("GET %s: %d of %d bytes", u, n, resp.ContentLength)
	}
	return n, resp.Header, err
}

// rangedGet reads a blob of size bytes as the recipient's page does, in
// rangeSize pieces; first gives the headers of the first request, later
// the headers of the following ones (from the first one's answer).
func rangedGet(ctx context.Context, hc *http.Client, u string, size int64, first map[string]string,
	later func(http.Header) map[string]string, h hash.Hash) (int64, error) {
	var total int64
	hdr := first
	for off := int64(0); off < size; off += rangeSize {
		end := min(off+rangeSize, size) - 1
		n, rh, err := getRange(ctx, hc, u, fmt.Sprintf("bytes=%d-%d", off, end), hdr, h)
		total += n
		if err != nil {
			return total, err
		}
		if off == 0 && later != nil {
			hdr = later(rh)
		}
	}
	if total != size {
		return total, fmt.Errorf("%s: %d of %d bytes", u, total, size)
	}
	return total, nil
}

// checkEvery is how often a download's SHA-256 is checked (hashing every
// one would take the load generator's CPU from the servers).
const checkEvery = 50

// relayDownloads downloads drops from a relay with its real protocol:
// drop information, then the blob in ranges, the first with the access
// code's grant (it counts the download and answers a download token),
// the next with that token.
type relayDownloads struct {
	base   string
	ids    []string
	grants map[string]string
	size   int64
	sum    string
}

func (d *relayDownloads) job(ctx context.Context, hc *http.Client, i int) (int64, error) {
	id := d.ids[i%len(d.ids)]
	var info relayapi.DropInfo
	if err := getJSON(ctx, hc, d.base+"/api/v1/drops/"+id, &info); err != nil {
		return 0, err
	}
	if info.State != "ready" || info.Size != d.size {
		return 0, fmt.Errorf("drop %s: state %s, size %d", id, info.State, info.Size)
	}
	first := map[string]string{}
	if info.NeedsCode {
		first[relayapi.HeaderGrant] = d.grants[id]
	}
	var h hash.Hash
	if i%checkEvery == 0 {
		h = sha256.New()
	}
	n, err := rangedGet(ctx, hc, d.base+"/api/v1/drops/"+id+"/blob", d.size, first, func(rh http.Header) map[string]string {
		return map[string]string{relayapi.HeaderDownload: rh.Get(relayapi.HeaderDownload)}
	}, h)
	if err == nil && h != nil && hex.EncodeToString(h.Sum(nil)) != d.sum {
		err = fmt.Errorf("drop %s: wrong SHA-256", id)
	}
	return n, err
}

// staticDownloads downloads the same blobs as files from a static web
// server, in the same ranges.
type staticDownloads struct {
	base  string
	paths []string
	size  int64
	sum   string
}

func (d *staticDownloads) job(ctx context.Context, hc *http.Client, i int) (int64, error) {
	var h hash.Hash
	if i%checkEvery == 0 {
		h = sha256.New()
	}
	p := d.paths[i%len(d.paths)]
	n, err := rangedGet(ctx, hc, d.base+p, d.size, nil, nil, h)
	if err == nil && h != nil && hex.EncodeToString(h.Sum(nil)) != d.sum {
		err = fmt.Errorf("%s: wrong SHA-256", p)
	}
	return n, err
}

// relayUploads sends documents to a relay as sealprint does: create the
// drop, create the tus upload, PATCH the bytes, complete (the relay
// checks size and SHA-256 and makes the blob durable).
type relayUploads struct {
	base, token string
	data        []byte
	sum         string
	code        string // access code of the drops, "" for none

	mu  sync.Mutex
	ids []string
	// phases[k] are the durations of phase k (uploadPhases) of each
	// finished upload.
	phases [len(uploadPhases)][]time.Duration
}

// uploadPhases name the requests of one relay upload, in order.
var uploadPhases = [...]string{"create drop", "create upload", "PATCH", "complete"}

func (u *relayUploads) job(ctx context.Context, hc *http.Client, i int) (int64, error) {
	zero := 0
	req := relayapi.CreateDropRequest{Size: int64(len(u.data)), SHA256: u.sum, Mode: "link", MaxDownloads: &zero, AccessCode: u.code}
	body, _ := json.Marshal(req)
	var took [len(uploadPhases)]time.Duration
	t := time.Now()
	lap := func(k int) {
		now := time.Now()
		took[k], t = now.Sub(t), now
	}
	var cr relayapi.CreateDropResponse
	if err := u.do(ctx, hc, "POST", "/api/v1/drops", bytes.NewReader(body), http.StatusCreated, &cr,
		"Content-Type", "application/json"); err != nil {
		return 0, err
	}
	lap(0)
	if err := u.do(ctx, hc, "POST", "/api/v1/uploads/", nil, http.StatusCreated, nil,
		"Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(u.data)),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(cr.ID))); err != nil {
		return 0, err
	}
	lap(1)
	if err := u.do(ctx, hc, "PATCH", "/api/v1/uploads/"+cr.ID, bytes.NewReader(u.data), http.StatusNoContent, nil,
		"Tus-Resumable", "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream"); err != nil {
		return 0, err
	}
	lap(2)
	if err := u.do(ctx, hc, "POST", "/api/v1/drops/"+cr.ID+"/complete", nil, http.StatusOK, nil); err != nil {
		return int64(len(u.data)), err
	}
	lap(3)
	u.mu.Lock()
	u.ids = append(u.ids, cr.ID)
	for k, d := range took {
		u.phases[k] = append(u.phases[k], d)
	}
	u.mu.Unlock()
	return int64(len(u.data)), nil
}

// phaseSummary gives the p50 and p99 of each phase of the uploads.
func (u *relayUploads) phaseSummary() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var parts []string
	for k, name := range uploadPhases {
		r := result{lats: u.phases[k]}
		parts = append(parts, fmt.Sprintf("%s %.0f/%.0f", name, ms(r.pct(0.5)), ms(r.pct(0.99))))
	}
	return "phases p50/p99 ms: " + strings.Join(parts, ", ")
}

func (u *relayUploads) do(ctx context.Context, hc *http.Client, method, path string, body io.Reader, want int, out any, hdr ...string) error {
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, body)
	if err != nil {
		return err
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return doReq(hc, req, want, out)
}

// tusdUploads sends the same bytes to tusd's own server: creation, then
// one PATCH.
type tusdUploads struct {
	base string // http://host:port/files/
	data []byte
}

func (u *tusdUploads) job(ctx context.Context, hc *http.Client, i int) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", u.base, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(u.data)))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("tusd POST: %s", resp.Status)
	}
	loc, err := url.Parse(u.base)
	if err == nil {
		loc, err = loc.Parse(resp.Header.Get("Location"))
	}
	if err != nil {
		return 0, fmt.Errorf("tusd Location: %v", err)
	}
	req, _ = http.NewRequestWithContext(ctx, "PATCH", loc.String(), bytes.NewReader(u.data))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err = hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Upload-Offset") != strconv.Itoa(len(u.data)) {
		return 0, fmt.Errorf("tusd PATCH: %s, offset %s", resp.Status, resp.Header.Get("Upload-Offset"))
	}
	return int64(len(u.data)), nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	return doReq(hc, req, http.StatusOK, out)
}

func doReq(hc *http.Client, req *http.Request, want int, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// grants posts the access code of each drop and returns the grants.
func grants(ctx context.Context, base, code string, ids []string) (map[string]string, error) {
	hc := newClient(4)
	out := map[string]string{}
	for _, id := range ids {
		body, _ := json.Marshal(relayapi.CodeRequest{Code: code})
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/drops/"+id+"/code", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var cr relayapi.CodeResponse
		if err := doReq(hc, req, http.StatusOK, &cr); err != nil {
			return nil, err
		}
		if cr.Grant == "" {
			return nil, errors.New("empty grant")
		}
		out[id] = cr.Grant
	}
	return out, nil
}
