package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/web/jobs"
)

// maxReplyDownload bounds a reply's ciphertext fetched by open --reply.
const maxReplyDownload = 2 << 30

// openReplyResult is what 'sealprint open --reply ID --json' prints.
type openReplyResult struct {
	Reply  string `json:"reply"`
	Job    string `json:"job,omitempty"` // "" for a drop of 'sealprint send'
	Drop   string `json:"drop"`
	Dir    string `json:"dir"`
	SHA256 string `json:"sha256"` // of the reply's ciphertext
	// Files are the attachments written to Dir.
	Files   []openReplyFile `json:"files"`
	Message string          `json:"message,omitempty"`
	// Signed: the reply carries a signature; SignatureValid: by a key of
	// your address book (Signer, SignerFingerprint); a signature by an
	// unknown key is reported with its key id only.
	Signed            bool   `json:"signed"`
	SignatureValid    bool   `json:"signature_valid"`
	Signer            string `json:"signer,omitempty"`
	SignerFingerprint string `json:"signer_fingerprint,omitempty"`
	SignerKeyID       string `json:"signer_key_id,omitempty"`
}

type openReplyFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// findReply returns the job whose drop got reply id.
func findReply(ctx context.Context, e *env, id string) (*jobs.JobView, error) {
	var list []jobs.JobView
	err := withJobs(ctx, e, func(c jobController) error {
		var err error
		list, err = c.List(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		for _, r := range list[i].Replies {
			if r.ID == id {
				return &list[i], nil
			}
		}
	}
	return nil, fmt.Errorf("no job has the reply %s (see 'sealprint jobs'; replies appear there once the service has seen them)", id)
}

// locateReply returns the job (when a printed job has it), the drop and
// the ciphertext SHA-256 of reply id: from the drop given with --drop, else
// the jobs the service follows, else the drops of 'sealprint send'.
func locateReply(ctx context.Context, e *env, p *pc, id, drop string) (jobID, dropID, sum string, err error) {
	if drop != "" {
		client, err := p.relayClient(true)
		if err != nil {
			return "", "", "", err
		}
		list, err := client.Replies(ctx, drop)
		if err != nil {
			return "", "", "", err
		}
		for _, r := range list {
			if r.ID == id {
				return "", drop, r.SHA256, nil
			}
		}
		return "", "", "", fmt.Errorf("drop %s has no reply %s (see 'sealprint replies %s')", drop, id, drop)
	}
	var jobsErr error
	if _, err := os.Stat(filepath.Join(p.home, "spool")); err == nil {
		job, err := findReply(ctx, e, id)
		if err == nil {
			for _, r := range job.Replies {
				if r.ID == id {
					sum = r.SHA256
				}
			}
			return job.ID, job.DropID, sum, nil
		}
		jobsErr = err
	}
	dropID, sum, err = findSentReply(ctx, p, id)
	if err == nil {
		return "", dropID, sum, nil
	}
	if !errors.Is(err, errNoReply) {
		return "", "", "", err
	}
	if jobsErr != nil && !strings.HasPrefix(jobsErr.Error(), "no job has the reply") {
		return "", "", "", jobsErr
	}
	return "", "", "", fmt.Errorf("no job or sent drop has the reply %s (see 'sealprint jobs' and 'sealprint replies'; or give its drop with --drop DROP)", id)
}

// openReply fetches reply id to one of your jobs or sent drops (or to
// drop, when given), decrypts it with your key and writes its files into
// dir (default: reply-ID in the current directory). Nothing is written
// unless the whole reply decrypted and its signature, when there is one,
// verified.
func openReply(ctx context.Context, e *env, id, drop, dir string, force, jsonOut bool) error {
	if !relayapi.ValidDropID(id) {
		return usageError("%q is not a reply id (see 'sealprint jobs' or 'sealprint replies')", id)
	}
	if drop != "" && !relayapi.ValidDropID(drop) {
		return usageError("--drop %q is not a drop id", drop)
	}
	if dir == "" {
		dir = "reply-" + id[:8]
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	jobID, dropID, want, err := locateReply(ctx, e, p, id, drop)
	if err != nil {
		return err
	}
	priv, err := newPrivateDir(p.home)
	if err != nil {
		return err
	}
	defer priv.remove()
	sealed, err := priv.create("reply.pgp")
	if err != nil {
		return err
	}
	defer sealed.Close()
	plain, err := priv.create("reply.tar")
	if err != nil {
		return err
	}
	defer plain.Close()
	res := openReplyResult{Reply: id, Job: jobID, Drop: dropID, Dir: dir, SHA256: want, Files: []openReplyFile{}}
	// Unpack into the private dir first: a broken archive leaves nothing.
	var staged []*os.File
	defer func() {
		for _, f := range staged {
			f.Close()
		}
	}()
	v, message, err := p.openReplyTo(ctx, dropID, id, want, maxReplyDownload, fileStore{sealed}, fileStore{plain}, func(name string, size int64, r io.Reader) error {
		f, err := priv.create(fmt.Sprintf("file-%d", len(staged)))
		if err != nil {
			return err
		}
		staged = append(staged, f)
		if _, err := io.Copy(f, r); err != nil {
			return err
		}
		res.Files = append(res.Files, openReplyFile{Name: name, Size: size})
		return nil
	})
	if err != nil {
		return err
	}
	res.Signed, res.SignatureValid, res.SignerKeyID = v.Signed, v.Valid, v.KeyID
	res.Signer, res.SignerFingerprint = v.Signer, v.Fingerprint
	res.Message = message
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i, f := range staged {
		if err := placeVerified(f, filepath.Join(dir, res.Files[i].Name), force); err != nil {
			return err
		}
	}
	if res.Message != "" {
		name := "message.txt"
		for _, f := range res.Files {
			if strings.EqualFold(f.Name, name) {
				name = "message-sealprint.txt"
			}
		}
		m, err := priv.create("message")
		if err != nil {
			return err
		}
		defer m.Close()
		if _, err := io.WriteString(m, res.Message+"\n"); err != nil {
			return err
		}
		if err := placeVerified(m, filepath.Join(dir, name), force); err != nil {
			return err
		}
	}
	if jsonOut {
		return writeJSON(e, res)
	}
	w := e.stdout
	switch {
	case res.SignatureValid:
		fmt.Fprintf(w, "Good signature from %s (recipient's key)\n  signature valide du destinataire\n  fingerprint %s\n", res.Signer, res.SignerFingerprint)
	case res.Signed:
		fmt.Fprintf(w, "Signed by an unknown key %s — NOT verified / signée par une clé inconnue, non vérifiée\n", res.SignerKeyID)
	default:
		fmt.Fprintln(w, "Not signed: the recipient had no personal key / réponse non signée")
	}
	for _, f := range res.Files {
		fmt.Fprintf(w, "saved:   %s (%s)\n", filepath.Join(dir, f.Name), humanBytes(f.Size))
	}
	if res.Message != "" {
		fmt.Fprintf(w, "message:\n%s\n", res.Message)
	}
	return nil
}
