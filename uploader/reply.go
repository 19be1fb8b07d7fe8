package uploader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
)

// Replies lists the recipients' replies to one of the sender's drops.
func (c *Client) Replies(ctx context.Context, dropID string) ([]relayapi.Reply, error) {
	if err := checkID(dropID); err != nil {
		return nil, err
	}
	var out relayapi.RepliesResponse
	if _, err := c.doJSON(ctx, http.MethodGet, "/api/v1/drops/"+dropID+"/replies", true, nil, &out, nil); err != nil {
		return nil, fmt.Errorf("replies of drop %s: %w", dropID, err)
	}
	return out.Replies, nil
}

// DownloadReply writes the ciphertext of reply replyID to drop dropID to
// w, at most max bytes. The bytes are checked against the relay's
// X-Sealprint-SHA256 and want (when not ""); on an error, what was
// written to w must be discarded.
func (c *Client) DownloadReply(ctx context.Context, dropID, replyID, want string, max int64, w io.Writer) (int64, error) {
	if err := checkID(dropID); err != nil {
		return 0, err
	}
	if err := checkID(replyID); err != nil {
		return 0, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/drops/"+dropID+"/replies/"+replyID+"/blob", nil, true)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, fmt.Errorf("download reply %s: %w", replyID, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return n, fmt.Errorf("download reply %s: %w", replyID, err)
	}
	if n > max {
		return n, fmt.Errorf("download reply %s: larger than %d bytes", replyID, max)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("download reply %s: got %d of %d bytes", replyID, n, resp.ContentLength)
	}
	got := hex.EncodeToString(h.Sum(nil))
	for _, w := range []string{strings.ToLower(resp.Header.Get(relayapi.HeaderSHA256)), strings.ToLower(want)} {
		if w != "" && w != got {
			return n, fmt.Errorf("download reply %s: %w", replyID, ErrDigestMismatch)
		}
	}
	return n, nil
}
