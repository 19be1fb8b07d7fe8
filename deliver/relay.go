package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

// relay returns the relay client; failing to build one is permanent.
func (s *Stages) relay() (*uploader.Client, error) {
	c, err := s.opt.Relay()
	if err != nil {
		return nil, spooler.Permanent(err)
	}
	return c, nil
}

// relayErr marks the relay's refusals (bad request, forbidden, too large)
// as permanent; network trouble and server errors are retried.
func relayErr(err error) error {
	if uploader.IsPermanent(err) {
		return spooler.Permanent(err)
	}
	return err
}

// Deliver creates the drop (idempotent on the job id), uploads the sealed
// document and completes the drop. The relay mails the recipients.
func (s *Stages) Deliver(ctx context.Context, d spooler.Delivery, body io.ReaderAt) (spooler.Drop, error) {
	c, err := s.relay()
	if err != nil {
		return spooler.Drop{}, err
	}
	drop, err := c.Send(ctx, dropRequest(d, s.senderPub), body, nil)
	if err != nil {
		return spooler.Drop{}, relayErr(err)
	}
	out := spooler.Drop{ID: drop.ID, Link: drop.Link, ExpiresAt: drop.ExpiresAt}
	if to := d.Options.CodeTo; to != "" && d.AccessCode != "" {
		// The relay sends the code over the second channel and forgets it.
		sent, err := c.SendCode(ctx, drop.ID, d.AccessCode, to)
		var ae *uploader.APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			// Sent before a crash or a retry: not again.
			kind, _, _ := strings.Cut(to, ":")
			out.CodeSentVia = kind
		case err != nil:
			return spooler.Drop{}, relayErr(err)
		default:
			out.CodeSentVia = sent.SentVia + ":" + sent.To
		}
	}
	return out, nil
}

// dropRequest is the relay request for d. The relay mails the recipients
// in both modes; in link mode its mail carries the link without the
// secret (the relay never sees it) and says the full link comes from the
// sender, who passes it on, and the code, by another channel.
func dropRequest(d spooler.Delivery, senderPub string) relayapi.CreateDropRequest {
	req := relayapi.CreateDropRequest{
		IdempotencyKey: d.JobID, Size: d.Size, SHA256: d.SHA256, Recipients: d.Recipients,
		Mode: relayapi.ModeKey, SenderKey: senderPub, Notify: true,
		ExpiresInSeconds: int64(d.Options.ExpiresIn / time.Second), MaxDownloads: d.Options.MaxDownloads,
		RecipientKeys: recipientKeys(d.SealedKeys),
	}
	if d.Options.Link() {
		req.Mode, req.AccessCode = relayapi.ModeLink, d.AccessCode
	}
	if len(d.SessionKey) > 0 && senderPub != "" {
		// Whoever decrypts the drop may reply to the sender's key.
		req.ReplyVerifier = envelope.ReplyVerifier(d.SessionKey)
	}
	return req
}

// Status reads whether the drop was downloaded and the receipts posted.
func (s *Stages) Status(ctx context.Context, dropID string) (spooler.DropStatus, error) {
	c, err := s.relay()
	if err != nil {
		return spooler.DropStatus{}, err
	}
	st, err := c.Status(ctx, dropID)
	var ae *uploader.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusGone || ae.Status == http.StatusNotFound) {
		// The relay has deleted the drop (expired, revoked, exhausted).
		state := ae.State
		if state == "" {
			state = relayapi.StateExpired
		}
		downloads := 0
		if state == relayapi.StateExhausted {
			downloads = 1 // the download limit was reached: it was downloaded
		}
		return spooler.DropStatus{State: state, Downloads: downloads}, nil
	}
	if err != nil {
		return spooler.DropStatus{}, err
	}
	var proofs []string
	var times []time.Time
	var signed []spooler.SignedReceipt
	var linkProofs []string
	for _, r := range st.Receipts {
		proofs = append(proofs, r.Proof)
		linkProofs = append(linkProofs, r.LinkProof)
		times = append(times, r.At)
		signed = append(signed, spooler.SignedReceipt{Signer: r.Signer, Signature: r.Signature, SignedAt: r.SignedAt})
	}
	var cp []byte
	if st.Checkpoint != nil {
		// Kept by the job as a witness of the relay's audit history.
		cp, _ = json.Marshal(st.Checkpoint)
	}
	var replies []spooler.Reply
	for _, r := range st.Replies {
		replies = append(replies, spooler.Reply{ID: r.ID, State: r.State, CreatedAt: r.CreatedAt, ReadyAt: r.ReadyAt, Size: r.Size, SHA256: r.SHA256})
	}
	return spooler.DropStatus{State: st.State, Downloads: st.Downloads, Receipts: proofs, ExpiresAt: st.ExpiresAt,
		Checkpoint: cp, ReceiptTimes: times, NotifiedAt: st.NotifiedAt, Signed: signed, LinkProofs: linkProofs, Replies: replies}, nil
}

// Chase asks the relay to mail the sender that the drop is still
// unopened (for jobs.ChaseOptions.Mail).
func (s *Stages) Chase(ctx context.Context, dropID string) (bool, error) {
	c, err := s.relay()
	if err != nil {
		return false, err
	}
	return c.Chase(ctx, dropID)
}

// Revoke deletes the drop on the relay.
func (s *Stages) Revoke(ctx context.Context, dropID string) error {
	c, err := s.relay()
	if err != nil {
		return err
	}
	return c.Revoke(ctx, dropID)
}
