package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sealprint/sealprint/internal/diskfull"
	"github.com/sealprint/sealprint/relayapi"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, relayapi.Error{Error: msg})
}

// decodeStrict decodes exactly one JSON value from r into v.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("bad JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON: data after the object")
	}
	return nil
}

type senderKey struct{}

// senderFrom returns the authenticated sender stored by Server.sender.
func senderFrom(ctx context.Context) *Sender {
	s, _ := ctx.Value(senderKey{}).(*Sender)
	return s
}

// bearer extracts the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return ""
	}
	return strings.TrimSpace(h[len(p):])
}

// authenticate returns the sender of the request's bearer token, or nil.
func (s *Server) authenticate(r *http.Request) (*Sender, error) {
	snd, err := s.tokenHolder(r)
	if snd != nil && snd.Kind == KindOrg {
		return nil, errTokenRefused{"this is an organisation token: it only enrols senders ('sealprint enroll --token TOKEN')"}
	}
	return snd, err
}

// tokenHolder returns the sender or organisation token named by the
// request's bearer token; nil when there is none or it is unknown, an
// errTokenRefused when it is revoked or expired. The store is read on
// every request, so a revocation takes effect at once.
func (s *Server) tokenHolder(r *http.Request) (*Sender, error) {
	tok := bearer(r)
	if tok == "" || len(tok) > 256 {
		return nil, nil
	}
	snd, err := s.store.SenderByTokenHash(r.Context(), TokenHash(tok))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch snd.TokenProblem(s.now()) {
	case "revoked":
		return nil, errTokenRefused{"enrolment token revoked by the relay's administrator"}
	case "expired":
		return nil, errTokenRefused{"enrolment token expired on " + snd.ExpiresAt.Format("2006-01-02")}
	}
	return snd, nil
}

// sender wraps a handler that requires an enrolled sender.
func (s *Server) sender(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snd, err := s.authenticate(r)
		var refused errTokenRefused
		if errors.As(err, &refused) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sealrelay", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, refused.reason)
			return
		}
		if err != nil {
			s.internalError(w, r, "authenticate", err)
			return
		}
		if snd == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sealrelay"`)
			writeError(w, http.StatusUnauthorized, "missing or unknown enrolment token")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), senderKey{}, snd)))
	}
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what, "err", err)
	if diskfull.Is(err) {
		// Passes: the client keeps what it has and tries again later.
		writeError(w, http.StatusInsufficientStorage, "the relay's disk is full: try again later")
		return
	}
	s.metrics.errors.WithLabelValues(what).Inc()
	writeError(w, http.StatusInternalServerError, "internal error")
}

// ownDrop loads the drop named in the path and checks that the
// authenticated sender created it. It writes the error response itself.
func (s *Server) ownDrop(w http.ResponseWriter, r *http.Request) (*Drop, bool) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return nil, false
	}
	if d.SenderID != senderFrom(r.Context()).ID {
		// Same answer as an unknown id: do not confirm others' drops.
		writeError(w, http.StatusNotFound, "no such drop")
		return nil, false
	}
	return d, true
}

// lockOwnDrop is ownDrop, then takes the drop's upload lock, so that no
// upload or other change of its blob runs meanwhile: 409 if it is busy.
// When it returns true the caller must call unlock.
func (s *Server) lockOwnDrop(w http.ResponseWriter, r *http.Request) (d *Drop, unlock func(), ok bool) {
	d, ok = s.ownDrop(w, r)
	if !ok {
		return nil, nil, false
	}
	unlock, err := s.lock(r.Context(), d.ID)
	if err != nil {
		writeError(w, http.StatusConflict, "upload busy, try again")
		return nil, nil, false
	}
	return d, unlock, true
}

// readyDrop loads the drop named by the path and checks that it can be
// downloaded now: 409 while still uploading, 410 once expired, revoked or
// exhausted. When it returns false it has answered the request.
func (s *Server) readyDrop(w http.ResponseWriter, r *http.Request) (*Drop, bool) {
	d, ok := s.pathDrop(w, r)
	if !ok {
		return nil, false
	}
	switch st := d.StateAt(s.now()); st {
	case StateReady:
		return d, true
	case StatePending:
		writeError(w, http.StatusConflict, "drop not ready yet")
	default:
		writeGone(w, st)
	}
	return nil, false
}

// pathDrop loads the drop named by the {id} path segment.
func (s *Server) pathDrop(w http.ResponseWriter, r *http.Request) (*Drop, bool) {
	id := r.PathValue("id")
	if !relayapi.ValidDropID(id) {
		writeError(w, http.StatusNotFound, "no such drop")
		return nil, false
	}
	d, err := s.store.Drop(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such drop")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "load drop", err)
		return nil, false
	}
	if d.IsReply() {
		// A reply is reached only through its drop's reply endpoints.
		writeError(w, http.StatusNotFound, "no such drop")
		return nil, false
	}
	return d, true
}
