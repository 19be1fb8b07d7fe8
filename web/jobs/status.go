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
// drop for all its recipients: the relay cannot tell which recipient
// opened it, so "opened" means a verified receipt was posted (Receipts of
// the job's recipients say how many).
type RecipientStatus struct {
	Recipient  string    `json:"recipient"`
	State      string    `json:"state"`
	UploadedAt time.Time `json:"uploaded_at,omitzero"`
	MailedAt   time.Time `json:"mailed_at,omitzero"`
	OpenedAt   time.Time `json:"opened_at,omitzero"`
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
		out = append(out, s)
	}
	return out
}
