// Package mail sends the relay's emails: key verification links, drop
// notifications to recipients, and receipts to senders.
package mail

import "context"

// Message is one email. Text is required; HTML is optional and sent as a
// multipart/alternative part when present.
type Message struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages. Consumers (relay, keyserver) depend on this
// interface; the SMTP implementation lives in this package.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}
