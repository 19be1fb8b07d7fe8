package cli

import (
	"context"
	"io"

	"github.com/sealprint/sealprint/web/jobs"
)

// maxPageReply bounds the ciphertext of a reply the jobs page decrypts,
// and (twice it) the plaintext: it is held in memory only. Larger replies
// open with 'sealprint open --reply'.
const maxPageReply = 64 << 20

// pageReplies is the jobs page's jobs.ReplyOpener: the reply's ciphertext
// and plaintext stay in memory, never on disk.
type pageReplies struct{ p *pc }

// OpenReply fetches reply replyID of drop dropID, decrypts it with the
// sender's key and unpacks it, all in memory; it fails unless the whole
// reply decrypted and any signature is good.
func (r pageReplies) OpenReply(ctx context.Context, dropID, replyID, sum string) (*jobs.OpenedReply, error) {
	out := &jobs.OpenedReply{}
	v, message, err := r.p.openReplyTo(ctx, dropID, replyID, sum, maxPageReply, &capped{max: maxPageReply}, &capped{max: 2 * maxPageReply},
		func(name string, size int64, rd io.Reader) error {
			data, err := io.ReadAll(io.LimitReader(rd, size))
			if err != nil {
				return err
			}
			out.Files = append(out.Files, jobs.ReplyFile{Name: name, Data: data})
			return nil
		})
	if err != nil {
		return nil, err
	}
	out.Message = message
	out.Signed, out.SignatureValid, out.SignerKeyID = v.Signed, v.Valid, v.KeyID
	out.Signer, out.SignerFingerprint = v.Signer, v.Fingerprint
	return out, nil
}
