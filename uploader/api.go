package uploader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
)

// Drop is the relay's answer to CreateDrop.
type Drop struct {
	relayapi.CreateDropResponse
	// Existing is true when the idempotency key named an existing drop (200).
	Existing bool `json:"-"`
}

func checkID(id string) error {
	if !relayapi.ValidDropID(id) {
		return fmt.Errorf("invalid drop id %q", clean(id, 70))
	}
	return nil
}

// CreateDrop registers a drop with the relay.
func (c *Client) CreateDrop(ctx context.Context, req relayapi.CreateDropRequest) (*Drop, error) {
	var d Drop
	status, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops", true, req, &d, nil)
	if err != nil {
		return nil, fmt.Errorf("create drop: %w", err)
	}
	if err := checkID(d.ID); err != nil {
		return nil, fmt.Errorf("create drop: relay answered an %w", err)
	}
	d.Existing = status == http.StatusOK
	return &d, nil
}

// Complete asks the relay to check the finished upload and make the drop
// ready.
func (c *Client) Complete(ctx context.Context, dropID string) error {
	if err := checkID(dropID); err != nil {
		return err
	}
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops/"+dropID+"/complete", true, struct{}{}, nil, nil); err != nil {
		return fmt.Errorf("complete drop %s: %w", dropID, err)
	}
	return nil
}

// Status returns the sender's view of a drop.
func (c *Client) Status(ctx context.Context, dropID string) (*relayapi.DropStatus, error) {
	if err := checkID(dropID); err != nil {
		return nil, err
	}
	var s relayapi.DropStatus
	if _, err := c.doJSON(ctx, http.MethodGet, "/api/v1/drops/"+dropID+"/status", true, nil, &s, nil); err != nil {
		return nil, fmt.Errorf("status of drop %s: %w", dropID, err)
	}
	return &s, nil
}

// Enroll exchanges the client's organisation token for a sender
// credential bound to senderKey (armored public key).
func (c *Client) Enroll(ctx context.Context, senderKey string) (*relayapi.EnrollResponse, error) {
	var out relayapi.EnrollResponse
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/enroll", true, relayapi.EnrollRequest{SenderKey: senderKey}, &out, nil); err != nil {
		return nil, fmt.Errorf("enrol: %w", err)
	}
	if !strings.HasPrefix(out.Token, "spt_") {
		return nil, errors.New("enrol: the relay answered no sender credential")
	}
	return &out, nil
}

// Proof returns the relay's signed proof of delivery of a drop (see
// 'sealprint verify-proof'), bounded to 1 MiB.
func (c *Client) Proof(ctx context.Context, dropID string) ([]byte, error) {
	if err := checkID(dropID); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if _, err := c.doJSON(ctx, http.MethodGet, "/api/v1/drops/"+dropID+"/proof", true, nil, &raw, nil); err != nil {
		return nil, fmt.Errorf("proof of drop %s: %w", dropID, err)
	}
	return raw, nil
}

// Policy returns the organisation's sending policy (GET /api/v1/policy);
// a relay without the endpoint answers the empty policy.
func (c *Client) Policy(ctx context.Context) (relayapi.Policy, error) {
	var p relayapi.Policy
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/policy", false, nil, &p, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return relayapi.Policy{}, nil
	}
	if err != nil {
		return p, fmt.Errorf("relay policy: %w", err)
	}
	return p, nil
}

// Info returns the public information on a drop.
func (c *Client) Info(ctx context.Context, dropID string) (*relayapi.DropInfo, error) {
	if err := checkID(dropID); err != nil {
		return nil, err
	}
	var s relayapi.DropInfo
	if _, err := c.doJSON(ctx, http.MethodGet, "/api/v1/drops/"+dropID, false, nil, &s, nil); err != nil {
		return nil, fmt.Errorf("drop %s: %w", dropID, err)
	}
	return &s, nil
}

// Revoke deletes a drop and its blob.
func (c *Client) Revoke(ctx context.Context, dropID string) error {
	if err := checkID(dropID); err != nil {
		return err
	}
	if _, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/drops/"+dropID, true, nil, nil, nil); err != nil {
		return fmt.Errorf("revoke drop %s: %w", dropID, err)
	}
	return nil
}

// Chase tells the relay that the drop was not opened in time; the relay
// mails the sender a reminder if it can, and says whether it did.
func (c *Client) Chase(ctx context.Context, dropID string) (bool, error) {
	if err := checkID(dropID); err != nil {
		return false, err
	}
	var out relayapi.ChaseResponse
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops/"+dropID+"/chase", true, struct{}{}, &out, nil); err != nil {
		return false, fmt.Errorf("chase drop %s: %w", dropID, err)
	}
	return out.Mailed, nil
}

// SendCode hands a drop's access code to the relay, which sends it over
// a second channel (to is "sms:+33…" or "mail:ADDRESS") and forgets it.
func (c *Client) SendCode(ctx context.Context, dropID, code, to string) (relayapi.CodeSendResponse, error) {
	var out relayapi.CodeSendResponse
	if err := checkID(dropID); err != nil {
		return out, err
	}
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops/"+dropID+"/code/send", true,
		relayapi.CodeSendRequest{Code: code, To: to}, &out, nil); err != nil {
		return out, fmt.Errorf("send the access code of drop %s: %w", dropID, err)
	}
	return out, nil
}

// SubmitCode sends an access code and returns the download grant. A wrong
// code is an *APIError with Status 403 and AttemptsLeft set.
func (c *Client) SubmitCode(ctx context.Context, dropID, code string) (string, error) {
	if err := checkID(dropID); err != nil {
		return "", err
	}
	var g relayapi.CodeResponse
	if _, err := c.doJSON(ctx, http.MethodPost, "/api/v1/drops/"+dropID+"/code", false,
		relayapi.CodeRequest{Code: code}, &g, nil); err != nil {
		return "", fmt.Errorf("access code for drop %s: %w", dropID, err)
	}
	if g.Grant == "" || len(g.Grant) > 1024 {
		return "", fmt.Errorf("access code for drop %s: relay answered no usable grant", dropID)
	}
	return g.Grant, nil
}

// ErrDigestMismatch means downloaded bytes do not match the relay's SHA-256.
var ErrDigestMismatch = errors.New("downloaded ciphertext does not match its SHA-256")

// Download writes the drop's ciphertext to w and returns its size. The
// grant (from SubmitCode) may be empty. The bytes are checked against the
// relay's X-Sealprint-SHA256 and Content-Length; on a mismatch, what was
// written to w must be discarded.
func (c *Client) Download(ctx context.Context, dropID, grant string, w io.Writer) (int64, error) {
	d, err := c.DownloadDrop(ctx, dropID, grant, w)
	return d.Size, err
}

// Downloaded describes a finished download.
type Downloaded struct {
	// Size is the number of bytes written.
	Size int64
	// ReceiptToken is the one-time token a receipt for this download
	// must carry (PostReceipt).
	ReceiptToken string
}

// DownloadDrop is Download that also returns the download's receipt token.
func (c *Client) DownloadDrop(ctx context.Context, dropID, grant string, w io.Writer) (Downloaded, error) {
	n, token, err := c.download(ctx, dropID, grant, w)
	return Downloaded{Size: n, ReceiptToken: token}, err
}

func (c *Client) download(ctx context.Context, dropID, grant string, w io.Writer) (int64, string, error) {
	if err := checkID(dropID); err != nil {
		return 0, "", err
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/drops/"+dropID+"/blob", nil, false)
	if err != nil {
		return 0, "", err
	}
	if grant != "" {
		req.Header.Set(relayapi.HeaderGrant, grant)
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, "", fmt.Errorf("download drop %s: %w", dropID, err)
	}
	defer resp.Body.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, "", fmt.Errorf("download drop %s: %w", dropID, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, "", fmt.Errorf("download drop %s: got %d of %d bytes", dropID, n, resp.ContentLength)
	}
	if want := strings.ToLower(resp.Header.Get(relayapi.HeaderSHA256)); want != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return n, "", fmt.Errorf("download drop %s: %w", dropID, ErrDigestMismatch)
		}
	}
	return n, clean(resp.Header.Get(relayapi.HeaderReceiptToken), 64), nil
}

// SHA256 returns the hex SHA-256 of the first size bytes of r.
func SHA256(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseOffset reads an Upload-Offset or Upload-Length header value.
func parseOffset(s string) (int64, error) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad offset %q", clean(s, 30))
	}
	return strconv.ParseInt(s, 10, 64)
}
