package relay

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/sealprint/sealprint/relayapi"
)

// Replies are uploaded with the same tus endpoint as drops, by the
// recipient holding a reply grant instead of a sender's token.

type replyGrantKey struct{}

// replyGrantFrom returns the reply grant a tus request came with, or "".
func replyGrantFrom(ctx context.Context) string {
	g, _ := ctx.Value(replyGrantKey{}).(string)
	return g
}

// mayUpload reports whether the request's credentials allow uploading
// drop d: a sender its own drops (never replies), a reply grant holder
// the replies to the granted drop while it still takes replies.
func (s *Server) mayUpload(ctx context.Context, d *Drop, snd *Sender, grant string) bool {
	if snd != nil {
		return !d.IsReply() && d.SenderID == snd.ID
	}
	if !d.IsReply() {
		return false
	}
	n, ok := checkReplyGrant(s.cfg.GrantKey, d.ReplyTo, grant, s.now())
	if !ok {
		return false
	}
	orig, err := s.store.Drop(ctx, d.ReplyTo)
	return err == nil && s.replyState(orig, n) == ""
}

// replyTus serves a tus request carrying a reply grant.
func (s *Server) replyTus(w http.ResponseWriter, r *http.Request, inner http.Handler) {
	grant := r.Header.Get(relayapi.HeaderReplyGrant)
	r = r.WithContext(context.WithValue(r.Context(), replyGrantKey{}, grant))
	id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/uploads"), "/")
	id, _, _ = strings.Cut(id, "+")
	if id != "" {
		if !relayapi.ValidDropID(id) {
			writeError(w, http.StatusNotFound, "no such upload")
			return
		}
		d, err := s.store.Drop(r.Context(), id)
		if errors.Is(err, ErrNotFound) || (err == nil && !s.mayUpload(r.Context(), d, nil, grant)) {
			writeError(w, http.StatusNotFound, "no such upload")
			return
		}
		if err != nil {
			s.internalError(w, r, "load drop", err)
			return
		}
		var ok bool
		if r, ok = s.pendingUpload(w, r, d); !ok {
			return
		}
	}
	inner.ServeHTTP(w, r)
}
