package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/web/jobs"
)

// maxPageReply bounds the ciphertext of a reply the jobs page decrypts,
// and (twice it) the plaintext: it is held in memory only. Larger replies
// open with 'sealprint open --reply'.
const maxPageReply = 64 << 20

// pageReplies is the jobs page's jobs.ReplyOpener: the reply's ciphertext
// and plaintext stay in memory, never on disk.
type pageReplies struct{ p *pc }

// errTooLargeForPage: the reply is over what the page decrypts in memory.
var errTooLargeForPage = errors.New("reply too large for the jobs page: use 'sealprint open --reply'")

// capped is a bytes.Buffer that refuses to grow past max.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errTooLargeForPage
	}
	return c.Buffer.Write(p)
}

// OpenReply fetches reply replyID of drop dropID, decrypts it with the
// sender's key and unpacks it, all in memory; it fails unless the whole
// reply decrypted and any signature is good.
func (r pageReplies) OpenReply(ctx context.Context, dropID, replyID, sum string) (*jobs.OpenedReply, error) {
	own, err := r.p.ownKeys()
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		return nil, errors.New("no key of yours to open the reply")
	}
	client, err := r.p.relayClient(true)
	if err != nil {
		return nil, err
	}
	sealed := &capped{max: maxPageReply}
	if _, err := client.DownloadReply(ctx, dropID, replyID, sum, maxPageReply, sealed); err != nil {
		return nil, err
	}
	plain := &capped{max: 2 * maxPageReply}
	msg, err := envelope.Open(bytes.NewReader(sealed.Bytes()), plain, envelope.OpenOptions{Keys: own, Verifiers: r.p.verifiers(), AllowUnverified: true})
	if err != nil {
		return nil, fmt.Errorf("open reply %s: %w", replyID, err)
	}
	out := &jobs.OpenedReply{Signed: msg.SignerKeyID != "" || msg.Signer != nil, SignerKeyID: msg.SignerKeyID}
	if msg.Verified && msg.Signer != nil {
		out.SignatureValid, out.Signer, out.SignerFingerprint = true, msg.Signer.Identity(), msg.Signer.Fingerprint()
	}
	manifest, err := envelope.ReadReplyArchive(bytes.NewReader(plain.Bytes()), func(name string, size int64, rd io.Reader) error {
		data, err := io.ReadAll(io.LimitReader(rd, size))
		if err != nil {
			return err
		}
		out.Files = append(out.Files, jobs.ReplyFile{Name: name, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open reply %s: %w", replyID, err)
	}
	out.Message = manifest.Message
	return out, nil
}
