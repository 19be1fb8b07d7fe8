package spooler

import (
	"encoding/json"
	"time"
)

// State is a job's place in the state machine.
type State string

// The states of a job. Received, Rendered, Sealed and Uploaded are steps
// of the pipeline; Held waits for recipients; Failed waits for a retry (or
// for the user, when the error is permanent); Delivered, Canceled and
// Expired are final.
const (
	Received  State = "received"  // document spooled, encrypted at rest
	Rendered  State = "rendered"  // turned into one PDF (still encrypted at rest)
	Held      State = "held"      // rendered, waiting for recipients to be chosen
	Sealed    State = "sealed"    // signed and encrypted to the recipients
	Uploaded  State = "uploaded"  // the relay holds the drop; link known
	Delivered State = "delivered" // a recipient downloaded it
	Failed    State = "failed"    // the last step failed; see Error, NextRetry
	Canceled  State = "canceled"  // canceled by the user
	Expired   State = "expired"   // held too long, or the drop expired unopened
)

// Final reports whether no further step will run for a job in state s.
func (s State) Final() bool {
	return s == Delivered || s == Canceled || s == Expired
}

// Job is the record of one print job. It is stored encrypted in the spool
// and returned by List and Get as a copy.
type Job struct {
	ID        string            `json:"id"`
	PrinterID string            `json:"printer_job_id,omitempty"`
	Queue     string            `json:"queue"`
	Name      string            `json:"name"`
	User      string            `json:"user,omitempty"`
	Format    string            `json:"format"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`
	// Size is the size of the document as printed, in bytes.
	Size int64 `json:"size"`
	// Pages is known once the job is rendered.
	Pages int `json:"pages,omitempty"`
	// PDFA says whether the rendered PDF is PDF/A ("yes", "unknown").
	PDFA string `json:"pdfa,omitempty"`
	// PDFSignature describes the PDF's own signature, when the PDF was
	// signed before sealing (e.g. "PAdES B-T by Dr X").
	PDFSignature string `json:"pdf_signature,omitempty"`
	// PDFSHA256 is the SHA-256 (hex) of the rendered PDF as previewed (a
	// PAdES signature, when configured, is added to it at sealing).
	PDFSHA256 string `json:"pdf_sha256,omitempty"`

	State State `json:"state"`
	// Stage is the last step reached; for a failed job, the step to redo
	// is the one after Stage.
	Stage      State    `json:"stage"`
	Recipients []string `json:"recipients"`

	Error     string    `json:"error,omitempty"`
	Permanent bool      `json:"permanent,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	NextRetry time.Time `json:"next_retry,omitzero"`

	SealedSize   int64  `json:"sealed_size,omitempty"`
	SealedSHA256 string `json:"sealed_sha256,omitempty"`
	// SealedKeys are the keys the sealed message is encrypted to, stated
	// to the relay at delivery (it checks them against the message and
	// names them in the proof of delivery).
	SealedKeys []SealedKey `json:"sealed_keys,omitempty"`
	// SessionKey of the sealed message, kept (encrypted at rest, never
	// shown) to check the recipients' receipts.
	SessionKey []byte `json:"-"`
	// Send are the options the job was released with (nil: key mode,
	// relay defaults).
	Send *SendOptions `json:"send,omitempty"`
	// LinkSecret (link mode, one secret for every recipient: jobs
	// released before each had its own), LinkSecrets (link mode, each
	// recipient address's own secret) and AccessCode are kept encrypted at
	// rest and never shown in JSON (see Release).
	LinkSecret  string            `json:"-"`
	LinkSecrets map[string]string `json:"-"`
	AccessCode  string            `json:"-"`

	DropID      string    `json:"drop_id,omitempty"`
	Link        string    `json:"link,omitempty"`
	DropExpires time.Time `json:"drop_expires,omitzero"`
	NextCheck   time.Time `json:"next_check,omitzero"`
	Downloads   int       `json:"downloads,omitempty"`
	// Receipts counts the recipients' proofs of decryption that check out
	// against the session key.
	Receipts int `json:"receipts,omitempty"`
	// Checkpoints are the relay's signed audit checkpoints seen while
	// following the drop (the latest maxCheckpoints): a relay that later
	// rewrites its history contradicts them.
	Checkpoints []json.RawMessage `json:"checkpoints,omitempty"`
	// DropState is the relay's last word on the drop (ready, expired,
	// exhausted, locked, revoked); MailedAt when the relay mailed the
	// recipients; DownloadedAt the first download seen; OpenedAt the first
	// verified receipt.
	DropState string `json:"drop_state,omitempty"`
	// CodeSentVia is the channel that delivered the access code (masked).
	CodeSentVia  string    `json:"code_sent_via,omitempty"`
	MailedAt     time.Time `json:"mailed_at,omitzero"`
	DownloadedAt time.Time `json:"downloaded_at,omitzero"`
	OpenedAt     time.Time `json:"opened_at,omitzero"`
	// OpenedBy maps each recipient address (or, for a key without one,
	// its fingerprint) to its first receipt signed with that recipient's
	// key and verified; UnsignedReceipts counts the verified receipts
	// that say nothing of who opened (link mode, the browser page).
	OpenedBy         map[string]time.Time `json:"opened_by,omitempty"`
	UnsignedReceipts int                  `json:"unsigned_receipts,omitempty"`
	// Replies are the recipients' replies to the drop (latest maxReplies).
	Replies []Reply `json:"replies,omitempty"`

	History []Transition `json:"history,omitempty"`
}

// Transition is one entry of a job's history.
type Transition struct {
	State State     `json:"state"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// maxHistory bounds a job's history (retries could grow it forever).
const maxHistory = 50

// clone returns a deep copy of j.
func (j *Job) clone() *Job {
	c := *j
	c.Recipients = append([]string(nil), j.Recipients...)
	c.SessionKey = append([]byte(nil), j.SessionKey...)
	c.Send = j.Send.clone()
	c.History = append([]Transition(nil), j.History...)
	c.Checkpoints = append([]json.RawMessage(nil), j.Checkpoints...)
	c.SealedKeys = append([]SealedKey(nil), j.SealedKeys...)
	if j.OpenedBy != nil {
		c.OpenedBy = make(map[string]time.Time, len(j.OpenedBy))
		for k, v := range j.OpenedBy {
			c.OpenedBy[k] = v
		}
	}
	c.Replies = append([]Reply(nil), j.Replies...)
	if j.LinkSecrets != nil {
		c.LinkSecrets = make(map[string]string, len(j.LinkSecrets))
		for k, v := range j.LinkSecrets {
			c.LinkSecrets[k] = v
		}
	}
	if j.Attrs != nil {
		c.Attrs = make(map[string]string, len(j.Attrs))
		for k, v := range j.Attrs {
			c.Attrs[k] = v
		}
	}
	return &c
}

// moveTo records a transition to s.
func (j *Job) moveTo(s State, now time.Time, note string) {
	j.State = s
	if s != Failed {
		j.Stage = s
		if s != Held {
			j.Error, j.Permanent, j.Attempts, j.NextRetry = "", false, 0, time.Time{}
		}
	}
	j.Updated = now
	j.History = append(j.History, Transition{State: s, At: now, Note: note})
	if len(j.History) > maxHistory {
		j.History = append(j.History[:1], j.History[len(j.History)-maxHistory+1:]...)
	}
}

// DefaultPageURL is the jobs page of a service on the default address.
const DefaultPageURL = "http://127.0.0.1:8632/jobs"

// StatusMessage is a one-line description of the job for the sender, as
// shown in the printer's job-state-message, naming the jobs page at its
// default address (see StatusMessageAt).
func (j *Job) StatusMessage() string { return j.StatusMessageAt(DefaultPageURL) }

// StatusMessageAt is StatusMessage for a service whose jobs page is page
// (e.g. "http://127.0.0.1:8632/jobs").
func (j *Job) StatusMessageAt(page string) string {
	if page == "" {
		page = DefaultPageURL
	}
	switch j.State {
	case Received:
		return "received, waiting to be converted to PDF"
	case Rendered:
		return "converted to PDF, waiting to be sealed"
	case Held:
		if j.Error != "" {
			return "held: " + j.Error + " — then release the job on the jobs page (" + page + ") or with sealprint jobs release"
		}
		return "waiting for you to choose recipients on the jobs page (" + page + ") or with sealprint jobs release"
	case Sealed:
		return "sealed for " + j.RecipientSummary() + ", uploading"
	case Uploaded:
		return "uploaded for " + j.RecipientSummary() + ", not opened yet"
	case Delivered:
		if j.Receipts > 0 {
			return "opened by the recipient (decryption confirmed by receipt)"
		}
		return "opened by the recipient"
	case Failed:
		if j.Permanent {
			return "failed: " + j.Error
		}
		return "failed, will retry: " + j.Error
	case Canceled:
		return "canceled"
	case Expired:
		return "expired"
	}
	return string(j.State)
}

// RecipientSummary names the job's recipients for a sentence: the only
// one, the first "and others", or "nobody".
func (j *Job) RecipientSummary() string {
	r := j.Recipients
	switch len(r) {
	case 0:
		return "nobody"
	case 1:
		return r[0]
	}
	return r[0] + " and others"
}
