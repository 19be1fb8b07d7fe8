package jobs

import (
	"context"
	_ "embed"
	"html/template"
	"mime"
	"net/http"
	"strconv"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// ReplyOpener fetches a recipient's reply from the relay and decrypts it
// with the sender's key, in memory: the jobs page shows and hands out its
// files without the service ever writing them to disk decrypted.
type ReplyOpener interface {
	// OpenReply returns reply replyID to drop dropID, whose ciphertext
	// must hash to sum (hex SHA-256, "" when unknown). It fails unless the
	// whole reply decrypted and its signature, when there is one, is good.
	OpenReply(ctx context.Context, dropID, replyID, sum string) (*OpenedReply, error)
}

// OpenedReply is a decrypted reply.
type OpenedReply struct {
	// Files are the attachments, in the archive's order.
	Files   []ReplyFile
	Message string
	// Signed: the reply carries a signature; SignatureValid: by a key of
	// the sender's address book (Signer, SignerFingerprint). A signature by
	// an unknown key is reported by its key id (SignerKeyID) only.
	Signed            bool
	SignatureValid    bool
	Signer            string
	SignerFingerprint string
	SignerKeyID       string
}

// ReplyFile is one decrypted attachment.
type ReplyFile struct {
	Name string // safe for a file name (envelope.SafeReplyName)
	Data []byte
}

//go:embed reply.html
var replyHTML string

var replyTmpl = template.Must(template.New("reply").Parse(replyHTML))

// replyPageData feeds reply.html.
type replyPageData struct {
	L     Lang
	CSRF  string
	Job   *spooler.Job
	Reply spooler.Reply
	*OpenedReply
}

// replyForm serves POST /jobs/{id}/reply (formChecks passed): with rid
// alone, the page of reply rid of job id — signature verdict, message,
// files; with file=N too, the N-th file as a download. Each request
// fetches and decrypts the reply again: nothing decrypted is kept.
func (w *web) replyForm(rw http.ResponseWriter, r *http.Request) {
	l := requestLang(r)
	if w.opt.Replies == nil {
		http.Error(rw, l.T("reply.unavailable"), http.StatusNotFound)
		return
	}
	id, rid := r.PathValue("id"), r.PostForm.Get("rid")
	j, err := w.s.Get(id)
	if !spooler.ValidID(id) || err != nil || !w.mine(j) || !relayapi.ValidDropID(rid) || j.DropID == "" {
		http.Error(rw, l.T("reply.notfound"), http.StatusNotFound)
		return
	}
	var reply spooler.Reply
	for _, x := range j.Replies {
		if x.ID == rid {
			reply = x
		}
	}
	if reply.ID == "" {
		http.Error(rw, l.T("reply.notfound"), http.StatusNotFound)
		return
	}
	file := -1
	if f := r.PostForm.Get("file"); f != "" {
		if file, err = strconv.Atoi(f); err != nil || file < 0 {
			http.Error(rw, "bad file", http.StatusBadRequest)
			return
		}
		// A file's form posts into a frame of its own on the reply page
		// (one per file, so that a second download asked for while the
		// first is being decrypted does not cancel it): its answer, the
		// file or a short error shown in that frame, may be framed by
		// this origin only.
		rw.Header().Set("X-Frame-Options", "SAMEORIGIN")
		rw.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'; base-uri 'none'")
	}
	opened, err := w.opt.Replies.OpenReply(r.Context(), j.DropID, rid, reply.SHA256)
	if err != nil {
		w.opt.Logger.Warn("open reply", "job", id, "reply", rid, "err", err)
		if file >= 0 {
			http.Error(rw, l.T("reply.failed", err.Error()), http.StatusBadGateway)
			return
		}
		w.render(rw, l, http.StatusBadGateway, l.T("reply.failed", err.Error()), "")
		return
	}
	if file >= 0 {
		if file >= len(opened.Files) {
			http.Error(rw, l.T("reply.notfound"), http.StatusNotFound)
			return
		}
		f := opened.Files[file]
		h := rw.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
		h.Set("Content-Length", strconv.Itoa(len(f.Data)))
		rw.Write(f.Data)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := replyTmpl.Execute(rw, replyPageData{L: l, CSRF: w.csrf, Job: j, Reply: reply, OpenedReply: opened}); err != nil {
		w.opt.Logger.Error("reply page", "err", err)
	}
}
