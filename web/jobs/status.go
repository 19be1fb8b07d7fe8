package jobs

import (
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// Delivery states of one recipient, in the order they are reached; the
// last three end a drop.
const (
	DeliveryUploaded  = "uploaded"
	DeliveryMailed    = "mailed"
	DeliveryOpened    = "opened" // a verified receipt: the document was decrypted
	DeliveryExpired   = "expired"
	DeliveryExhausted = "exhausted"
	DeliveryLocked    = "locked"
	DeliveryRevoked   = "revoked"
)

// RecipientStatus is where a job stands for one recipient. A job is one
// drop for all its recipients. In key mode a recipient's receipt is signed
// with its own key and checked against the key pinned for it; in link
// mode each recipient has a link secret of its own and the receipt
// carries an HMAC keyed from the secret that opened it: either way
// "opened" is that recipient's (OpenedBy "recipient", OpenedWith "key"
// or "link"). A receipt that names no one (a job whose recipients share
// one link, an older page or client) proves that someone holding the
// document's key decrypted it, not who: each recipient not known to have
// opened it then shows "opened" with OpenedBy "someone".
type RecipientStatus struct {
	Recipient  string    `json:"recipient"`
	State      string    `json:"state"`
	UploadedAt time.Time `json:"uploaded_at,omitzero"`
	MailedAt   time.Time `json:"mailed_at,omitzero"`
	OpenedAt   time.Time `json:"opened_at,omitzero"`
	// OpenedBy says what "opened" rests on: "recipient" (a receipt signed
	// with this recipient's key) or "someone" (an unsigned receipt).
	OpenedBy string `json:"opened_by,omitempty"`
	// OpenedWith says what named the recipient: "key" (its signature) or
	// "link" (the HMAC keyed from its own link secret).
	OpenedWith string `json:"opened_with,omitempty"`
	// SecretLink is this recipient's own link (link mode, its secret in
	// the fragment): the sender passes it to this recipient only.
	SecretLink string `json:"secret_link,omitempty"`
	// EndedAt is when the drop expired (the other ends are seen, not
	// dated, by the relay's answer).
	EndedAt time.Time `json:"ended_at,omitzero"`
}

// recipientStatuses returns j's status for each recipient, or nil before
// it is uploaded.
func recipientStatuses(j *spooler.Job) []RecipientStatus {
	if j.DropID == "" {
		return nil
	}
	var st RecipientStatus
	for _, t := range j.History {
		if t.State == spooler.Uploaded && st.UploadedAt.IsZero() {
			st.UploadedAt = t.At
		}
	}
	st.MailedAt, st.OpenedAt = j.MailedAt, j.OpenedAt
	st.State = DeliveryUploaded
	if !st.MailedAt.IsZero() {
		st.State = DeliveryMailed
	}
	if !st.OpenedAt.IsZero() {
		st.State = DeliveryOpened
	}
	switch j.DropState {
	case "expired", "exhausted", "locked", "revoked":
		st.State = j.DropState
		if j.DropState == "expired" {
			st.EndedAt = j.DropExpires
		}
	}
	if j.State == spooler.Canceled {
		st.State = DeliveryRevoked
	}
	out := make([]RecipientStatus, 0, len(j.Recipients))
	for _, r := range j.Recipients {
		s := st
		s.Recipient = r
		if secret := j.LinkSecrets[r]; secret != "" && j.Link != "" {
			s.SecretLink = j.Link + "#" + secret
		}
		if s.State == DeliveryOpened {
			switch at, ok := j.OpenedBy[r]; {
			case ok:
				s.OpenedAt, s.OpenedBy, s.OpenedWith = at, "recipient", "key"
				if j.SendOptionsOf().Link() {
					s.OpenedWith = "link"
				}
			case len(j.OpenedBy) == 0 || j.UnsignedReceipts > 0:
				// A receipt that names no one (or a job from before
				// signed receipts): opened, by someone.
				s.OpenedBy = "someone"
			default:
				// Others signed their receipts; this one has not.
				s.State, s.OpenedAt = DeliveryMailed, time.Time{}
				if st.MailedAt.IsZero() {
					s.State = DeliveryUploaded
				}
			}
		}
		out = append(out, s)
	}
	return out
}
