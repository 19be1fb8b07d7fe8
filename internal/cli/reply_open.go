package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sealprint/sealprint/envelope"
)

// replyVerdict is what the signature on an opened reply says. Signed: the
// reply carries a signature; Valid: by a key of the sender's address book
// (Signer, Fingerprint). A signature by an unknown key is reported by its
// key id only.
type replyVerdict struct {
	Signed      bool
	Valid       bool
	Signer      string
	Fingerprint string
	KeyID       string
}

// replyStore holds a reply's bytes while it is opened: written once, then
// read back from the start.
type replyStore interface {
	io.Writer
	rewind() (io.Reader, error)
}

// fileStore is a replyStore in a file of the private dir.
type fileStore struct{ *os.File }

func (f fileStore) rewind() (io.Reader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return f.File, nil
}

// capped is a replyStore in memory that refuses to grow past max.
type capped struct {
	bytes.Buffer
	max int
}

// errTooLargeForPage: the reply is over what the page decrypts in memory.
var errTooLargeForPage = errors.New("reply too large for the jobs page: use 'sealprint open --reply'")

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errTooLargeForPage
	}
	return c.Buffer.Write(p)
}

func (c *capped) rewind() (io.Reader, error) { return bytes.NewReader(c.Bytes()), nil }

// openReplyTo fetches reply replyID of drop dropID (its ciphertext
// SHA-256 sum, at most limit bytes) into sealed, decrypts it with the
// sender's own keys into plain, and hands each attachment of the archive
// to file in order. It returns the signature's verdict and the reply's
// message. It fails unless the whole reply decrypted and any signature by
// a known key is good; what file kept must then be thrown away.
func (p *pc) openReplyTo(ctx context.Context, dropID, replyID, sum string, limit int64, sealed, plain replyStore, file func(name string, size int64, r io.Reader) error) (replyVerdict, string, error) {
	var v replyVerdict
	own, err := p.ownKeys()
	if err != nil {
		return v, "", err
	}
	if len(own) == 0 {
		return v, "", errors.New("no key of yours to open the reply: replies are encrypted to your sender key")
	}
	client, err := p.relayClient(true)
	if err != nil {
		return v, "", err
	}
	if _, err := client.DownloadReply(ctx, dropID, replyID, sum, limit, sealed); err != nil {
		return v, "", err
	}
	in, err := sealed.rewind()
	if err != nil {
		return v, "", err
	}
	msg, err := envelope.Open(in, plain, envelope.OpenOptions{Keys: own, Verifiers: p.verifiers(), AllowUnverified: true})
	if err != nil {
		return v, "", fmt.Errorf("open reply %s: %w", replyID, err)
	}
	v.Signed, v.KeyID = msg.SignerKeyID != "" || msg.Signer != nil, msg.SignerKeyID
	if msg.Verified && msg.Signer != nil {
		v.Valid, v.Signer, v.Fingerprint = true, msg.Signer.Identity(), msg.Signer.Fingerprint()
	}
	archive, err := plain.rewind()
	if err != nil {
		return v, "", err
	}
	manifest, err := envelope.ReadReplyArchive(archive, file)
	if err != nil {
		return v, "", fmt.Errorf("open reply %s: %w", replyID, err)
	}
	return v, manifest.Message, nil
}
