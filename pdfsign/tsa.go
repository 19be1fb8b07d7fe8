package pdfsign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// maxTSAResponse bounds a timestamp authority's answer; real tokens with
// their certificates are a few kilobytes.
const maxTSAResponse = 64 << 10

// tsaReserve is the room kept in /Contents for a timestamp token (tokens
// of public TSAs with their certificates are 3 to 7 KiB).
const tsaReserve = 12 << 10

// TSA is an RFC 3161 timestamp authority reached over HTTP.
type TSA struct {
	// URL is where time-stamp queries are posted.
	URL string
	// Client sends the query; nil means http.DefaultClient. Give it the
	// transport of the uploader to go through the same proxies.
	Client *http.Client
	// Username and Password, when set, authenticate with HTTP Basic.
	Username, Password string
}

// TSAError is a failure to obtain a timestamp: the TSA was unreachable,
// refused, or answered something that is not a token for our query.
// Callers that require B-T hold the job on it.
type TSAError struct {
	URL string
	Err error
}

func (e *TSAError) Error() string { return fmt.Sprintf("timestamp authority %s: %v", e.URL, e.Err) }
func (e *TSAError) Unwrap() error { return e.Err }

// stamp asks the TSA for a token over SHA-256(signature) and returns the
// token (a DER ContentInfo) after checking that its imprint and nonce
// answer this query.
func (t *TSA) stamp(ctx context.Context, signature []byte) ([]byte, error) {
	fail := func(err error) ([]byte, error) { return nil, &TSAError{URL: t.URL, Err: err} }
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return fail(err)
	}
	imprint := sha256.Sum256(signature)
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Certificates: true, Nonce: nonce}
	query, err := req.Marshal()
	if err != nil {
		return fail(fmt.Errorf("build query: %w", err))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(query))
	if err != nil {
		return fail(err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	if t.Username != "" {
		hr.SetBasicAuth(t.Username, t.Password)
	}
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("HTTP status %s", resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTSAResponse+1))
	if err != nil {
		return fail(fmt.Errorf("read answer: %w", err))
	}
	if len(body) > maxTSAResponse {
		return fail(fmt.Errorf("answer larger than %d bytes", maxTSAResponse))
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return fail(fmt.Errorf("parse answer: %w", err))
	}
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, imprint[:]) {
		return fail(errors.New("the token does not stamp the signature that was sent"))
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return fail(errors.New("the token does not answer this query (nonce)"))
	}
	if len(ts.RawToken) > tsaReserve {
		return fail(fmt.Errorf("token larger than %d bytes", tsaReserve))
	}
	return ts.RawToken, nil
}

// Probe asks the TSA for a token over a random value and returns the time
// it stamps: a check that the TSA is reachable and answers well-formed,
// matching tokens.
func (t *TSA) Probe(ctx context.Context) (time.Time, error) {
	v := make([]byte, 32)
	rand.Read(v)
	tok, err := t.stamp(ctx, v)
	if err != nil {
		return time.Time{}, err
	}
	ts, err := parseToken(tok)
	if err != nil {
		return time.Time{}, &TSAError{URL: t.URL, Err: err}
	}
	return ts.Time, nil
}
