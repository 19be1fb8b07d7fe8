package relay

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
)

// Reply limits.
const (
	// DefaultMaxReplySize bounds a reply's ciphertext when the policy
	// sets no bound.
	DefaultMaxReplySize = 64 << 20
	// MaxRepliesPerDrop bounds the replies one drop collects.
	MaxRepliesPerDrop = 20
)

// maxReplySize is the largest reply ciphertext accepted now: the policy's
// bound or the default, never above the relay's own limit.
func (s *Server) maxReplySize() (int64, error) {
	p, err := s.policy.get()
	if err != nil {
		return 0, err
	}
	n := int64(DefaultMaxReplySize)
	if p.MaxReplySize > 0 {
		n = p.MaxReplySize
	}
	return min(n, s.cfg.MaxSize), nil
}

// takesReplies reports whether the recipients of d may reply to its
// sender: the sender gave a reply verifier, and signed d with the key bound
// to its credential (the key the reply is encrypted to), which still holds.
func (s *Server) takesReplies(ctx context.Context, d *Drop) (bool, error) {
	if d.ReplyVerifier == "" || d.SenderFPR == "" || d.IsReply() {
		return false, nil
	}
	snd, err := s.store.Sender(ctx, d.SenderID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return snd.KeyFPR == d.SenderFPR && snd.TokenProblem(s.now()) == "", nil
}

// replyState is "" when a reply to d may be made now by the holder of
// download n's proof, else the state that refuses it. The download that
// used up the drop's limit still lets its holder reply.
func (s *Server) replyState(d *Drop, n int) string {
	switch st := d.StateAt(s.now()); st {
	case StateReady:
		return ""
	case StateExhausted:
		if d.MaxDownloads > 0 && n == d.Downloads && n == d.MaxDownloads {
			return ""
		}
		return st
	default:
		return st
	}
}

// parseReplyGrantRequest decodes and checks a reply grant request.
func parseReplyGrantRequest(r io.Reader) (token string, key []byte, err error) {
	var req relayapi.ReplyGrantRequest
	if err := decodeStrict(r, &req); err != nil {
		return "", nil, err
	}
	if req.Token == "" || len(req.Token) > 64 {
		return "", nil, errors.New("token must be the receipt token of a download")
	}
	key, err = hex.DecodeString(req.ReplyKey)
	if err != nil || len(key) != relayapi.ReplyKeyLen {
		return "", nil, errors.New("reply_key must be 64 hex digits")
	}
	return req.Token, key, nil
}

// handleReplyGrant serves POST /api/v1/drops/{id}/reply-grant: who shows
// the receipt token of a download and the reply key (proof of decryption)
// gets a grant to reply until the drop expires.
func (s *Server) handleReplyGrant(w http.ResponseWriter, r *http.Request) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return
	}
	token, key, err := parseReplyGrantRequest(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	can, err := s.takesReplies(r.Context(), d)
	if err != nil {
		s.internalError(w, r, "load sender", err)
		return
	}
	if !can {
		writeError(w, http.StatusForbidden, "this drop takes no replies (its sender has no bound key or did not allow them)")
		return
	}
	n, ok := parseReceiptToken(s.cfg.GrantKey, d.ID, token)
	if !ok || n < 1 || n > d.Downloads {
		writeError(w, http.StatusForbidden, "a reply grant needs the receipt token of a download of this drop")
		return
	}
	sum := sha256.Sum256(key)
	want, _ := hex.DecodeString(d.ReplyVerifier)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		writeError(w, http.StatusForbidden, "wrong reply key: only who decrypted the drop can reply")
		return
	}
	if st := s.replyState(d, n); st != "" {
		writeGone(w, st)
		return
	}
	max, err := s.maxReplySize()
	if err != nil {
		s.internalError(w, r, "policy", err)
		return
	}
	if err := s.record(r.Context(), EventReplyGrant, d.ID, "", n); err != nil {
		s.internalError(w, r, "audit", err)
		return
	}
	writeJSON(w, http.StatusOK, relayapi.ReplyGrantResponse{
		Grant: newReplyGrant(s.cfg.GrantKey, d.ID, n, d.ExpiresAt), ExpiresAt: d.ExpiresAt, MaxSize: max,
	})
}

// grantedDrop loads the drop of the path for a request carrying a reply
// grant: 403 without a valid grant for it, 410 once it takes no more
// replies. When it returns false it has answered.
func (s *Server) grantedDrop(w http.ResponseWriter, r *http.Request) (*Drop, bool) {
	id := r.PathValue("id")
	grant := r.Header.Get(relayapi.HeaderReplyGrant)
	if grant == "" {
		writeError(w, http.StatusForbidden, "a reply needs a reply grant ("+relayapi.HeaderReplyGrant+")")
		return nil, false
	}
	if !relayapi.ValidDropID(id) {
		writeError(w, http.StatusNotFound, "no such drop")
		return nil, false
	}
	n, _, ok := parseReplyGrant(s.cfg.GrantKey, id, grant)
	if !ok {
		// Checked before the drop is loaded: an id alone learns nothing.
		writeError(w, http.StatusForbidden, "the reply grant is not valid for this drop")
		return nil, false
	}
	d, ok := s.pathDrop(w, r)
	if !ok {
		return nil, false
	}
	// The grant expires with the drop: an expired grant meets an expired
	// drop, answered 410 like any other drop gone.
	if st := s.replyState(d, n); st != "" {
		writeGone(w, st)
		return nil, false
	}
	return d, true
}

// parseCreateReply decodes and checks a reply creation request.
func parseCreateReply(r io.Reader, max int64) (size int64, sum string, err error) {
	var req relayapi.CreateReplyRequest
	if err := decodeStrict(r, &req); err != nil {
		return 0, "", err
	}
	if req.Size <= 0 {
		return 0, "", errors.New("size must be positive")
	}
	if req.Size > max {
		return 0, "", fmt.Errorf("%w (%d bytes max for a reply)", errTooLarge, max)
	}
	if b, err := hex.DecodeString(req.SHA256); err != nil || len(b) != 32 {
		return 0, "", errors.New("sha256 must be 64 hex digits")
	}
	return req.Size, strings.ToLower(req.SHA256), nil
}

// handleCreateReply serves POST /api/v1/drops/{id}/replies with a reply
// grant: a pending reply drop tied to drop id, to upload with tus.
func (s *Server) handleCreateReply(w http.ResponseWriter, r *http.Request) {
	orig, ok := s.grantedDrop(w, r)
	if !ok {
		return
	}
	max, err := s.maxReplySize()
	if err != nil {
		s.internalError(w, r, "policy", err)
		return
	}
	size, sum, err := parseCreateReply(http.MaxBytesReader(w, r.Body, maxJSONBody), max)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, errTooLarge) || errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		} else {
			writeError(w, http.StatusBadRequest, err.Error())
		}
		return
	}
	have, err := s.store.Replies(r.Context(), orig.ID)
	if err != nil {
		s.internalError(w, r, "replies", err)
		return
	}
	if len(have) >= MaxRepliesPerDrop {
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("this drop already has %d replies", len(have)))
		return
	}
	id, err := relayapi.NewDropID(s.rnd)
	if err != nil {
		s.internalError(w, r, "new id", err)
		return
	}
	now := s.now().UTC()
	d := &Drop{
		ID: id, SenderID: orig.SenderID, Size: size, SHA256: sum, Mode: relayapi.ModeReply,
		CreatedAt: now, ExpiresAt: now.Add(DefaultExpiry), State: StatePending, ReplyTo: orig.ID,
	}
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		if err := s.record(ctx, EventReply, orig.ID, orig.SenderID, len(have)+1); err != nil {
			return err
		}
		if err := s.record(ctx, EventCreate, d.ID, orig.SenderID, 0); err != nil {
			return err
		}
		_, _, err := s.store.CreateDrop(ctx, d)
		return err
	})
	if err != nil {
		s.internalError(w, r, "create reply", err)
		return
	}
	writeJSON(w, http.StatusCreated, relayapi.CreateReplyResponse{
		ID: d.ID, UploadURL: "/api/v1/uploads/" + d.ID,
		CompleteURL: "/api/v1/drops/" + orig.ID + "/replies/" + d.ID + "/complete", ExpiresAt: d.ExpiresAt,
	})
}

// pathReply loads the reply {rid} of drop orig.
func (s *Server) pathReply(w http.ResponseWriter, r *http.Request, orig *Drop) (*Drop, bool) {
	rid := r.PathValue("rid")
	if !relayapi.ValidDropID(rid) {
		writeError(w, http.StatusNotFound, "no such reply")
		return nil, false
	}
	d, err := s.store.Drop(r.Context(), rid)
	if errors.Is(err, ErrNotFound) || (err == nil && d.ReplyTo != orig.ID) {
		writeError(w, http.StatusNotFound, "no such reply")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "load reply", err)
		return nil, false
	}
	return d, true
}

// handleCompleteReply serves POST /api/v1/drops/{id}/replies/{rid}/complete
// with the reply grant: the uploaded reply is checked and becomes ready.
func (s *Server) handleCompleteReply(w http.ResponseWriter, r *http.Request) {
	orig, ok := s.grantedDrop(w, r)
	if !ok {
		return
	}
	d, ok := s.pathReply(w, r, orig)
	if !ok {
		return
	}
	unlock, err := s.lock(r.Context(), d.ID)
	if err != nil {
		writeError(w, http.StatusConflict, "upload busy, try again")
		return
	}
	defer unlock()
	s.completeDrop(w, r, d)
}

// replyView is the sender's view of reply d.
func (s *Server) replyView(d *Drop) relayapi.Reply {
	return relayapi.Reply{ID: d.ID, State: d.StateAt(s.now()), CreatedAt: d.CreatedAt, ReadyAt: d.ReadyAt,
		ExpiresAt: d.ExpiresAt, Size: d.Size, SHA256: d.SHA256, Downloads: d.Downloads}
}

// repliesOf lists the replies to d for its sender, oldest first.
func (s *Server) repliesOf(ctx context.Context, d *Drop) ([]relayapi.Reply, error) {
	list, err := s.store.Replies(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	out := make([]relayapi.Reply, 0, len(list))
	for _, x := range list {
		out = append(out, s.replyView(x))
	}
	return out, nil
}

// handleReplies serves GET /api/v1/drops/{id}/replies to the drop's
// sender.
func (s *Server) handleReplies(w http.ResponseWriter, r *http.Request) {
	d, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	list, err := s.repliesOf(r.Context(), d)
	if err != nil {
		s.internalError(w, r, "replies", err)
		return
	}
	writeJSON(w, http.StatusOK, relayapi.RepliesResponse{Replies: list})
}

// handleReplyBlob serves GET /api/v1/drops/{id}/replies/{rid}/blob: the
// reply's ciphertext, to the original drop's sender only.
func (s *Server) handleReplyBlob(w http.ResponseWriter, r *http.Request) {
	orig, ok := s.ownDrop(w, r)
	if !ok {
		return
	}
	d, ok := s.pathReply(w, r, orig)
	if !ok {
		return
	}
	switch st := d.StateAt(s.now()); st {
	case StateReady:
	case StatePending:
		writeError(w, http.StatusConflict, "reply not uploaded yet")
		return
	default:
		writeGone(w, st)
		return
	}
	blob, size, err := s.blobs.Open(r.Context(), d.ID)
	if err != nil {
		s.internalError(w, r, "open blob", err)
		return
	}
	defer blob.Close()
	if size != d.Size {
		s.internalError(w, r, "open blob", errors.New("stored reply has the wrong size"))
		return
	}
	err = s.atomically(r.Context(), func(ctx context.Context) error {
		_, err := s.store.UpdateDrop(ctx, d.ID, func(d *Drop) error {
			d.Downloads++
			return s.record(ctx, EventReplyDownload, d.ID, d.SenderID, d.Downloads)
		})
		return err
	})
	if err != nil {
		s.internalError(w, r, "count reply download", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set(relayapi.HeaderSHA256, d.SHA256)
	h.Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, blob); err != nil {
		s.log.WarnContext(r.Context(), "reply download interrupted", "drop", d.ID, "err", err)
	}
}
