package printer

import (
	"context"
	"errors"
	"io"
	"time"
)

// JobInfo describes one received print job as handed to the Spooler.
type JobInfo struct {
	// ID is assigned by the printer and unique (a random UUID); use it as
	// the idempotency key of the job.
	ID string
	// Queue is the name of the queue the job was printed to.
	Queue string
	// Name is the job name given by the client (job-name), possibly empty.
	Name string
	// User is the requesting user: the authenticated user if the client
	// authenticated, else the local account behind the connection when
	// Config.Peers identifies it (the name a system spooler gives for
	// the jobs it relays), else requesting-user-name.
	User string
	// Format is the document's MIME type, as sent by the client or, for
	// application/octet-stream, as sniffed from its first bytes.
	Format string
	// Recipients are the queue's fixed recipients (e-mail addresses);
	// empty for a queue whose jobs wait for someone to choose them.
	Recipients []string
	// Attrs holds the job template attributes the client sent (copies,
	// sides, page-ranges, media, …) as text.
	Attrs map[string]string
	// Created is when the printer created the job.
	Created time.Time
}

// Spooler receives documents. Accept must return only once doc has been
// read completely and stored durably; until then the client is not
// acknowledged. An error whose Busy method reports true makes the printer
// answer server-error-busy (the client retries later); any other error
// aborts the job with the error text as its reason. If doc's size exceeds
// the limit, reading it fails with an error wrapping ErrTooLarge, which
// Accept should return (wrapped) unchanged.
type Spooler interface {
	Accept(ctx context.Context, job JobInfo, doc io.Reader) error
}

// ErrTooLarge is returned by the document reader handed to Spooler.Accept
// when the body exceeds Config.MaxDocumentBytes.
var ErrTooLarge = errors.New("document too large")

// isBusy reports whether err says the spooler is temporarily busy.
func isBusy(err error) bool {
	var b interface{ Busy() bool }
	return errors.As(err, &b) && b.Busy()
}
