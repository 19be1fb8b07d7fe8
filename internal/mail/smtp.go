package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what a message may carry.
const (
	maxRecipients = 100
	maxSubjectLen = 250
	maxBodyLen    = 1 << 20
)

// ErrInvalidMessage is wrapped by errors about a message that cannot be sent
// safely (bad address, header injection attempt, too large).
var ErrInvalidMessage = errors.New("invalid message")

// SMTP sends mail through one SMTP server. Create it with NewSMTP.
type SMTP struct {
	host     string // host:port
	implicit bool   // smtps: TLS from the first byte
	auth     *url.Userinfo
	from     string
	// TLSConfig is used for STARTTLS and implicit TLS; nil means the
	// system roots and the server's host name.
	TLSConfig *tls.Config
	// Timeout bounds a whole delivery when the context has no deadline
	// (default 30 s).
	Timeout time.Duration
	// Hostname is sent in EHLO (default "localhost").
	Hostname string
	// Now and Rand make Date and Message-ID reproducible in tests.
	Now  func() time.Time
	Rand func([]byte) (int, error)
}

// NewSMTP returns a Sender for rawURL, smtp://[user:pass@]host[:port]
// (port 25 by default; STARTTLS when the server offers it) or
// smtps://[user:pass@]host[:port] (implicit TLS, port 465 by default).
// from is the default From address. Credentials are sent only over TLS
// (or to a loopback server).
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	s := &SMTP{auth: u.User, Timeout: 30 * time.Second, Hostname: "localhost", Now: time.Now, Rand: rand.Read}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "25"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("smtp url: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("smtp url: want smtp[s]://[user:pass@]host[:port]")
	}
	s.host = net.JoinHostPort(u.Hostname(), port)
	if from != "" {
		a, err := checkAddress(from)
		if err != nil {
			return nil, fmt.Errorf("mail from: %w", err)
		}
		s.from = a
	}
	return s, nil
}

// checkAddress validates a bare address and returns it; it refuses display
// names, line breaks and anything net/mail would reformat.
func checkAddress(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00<>") || len(s) > 254 {
		return "", fmt.Errorf("%w: bad address %q", ErrInvalidMessage, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", fmt.Errorf("%w: bad address %q", ErrInvalidMessage, s)
	}
	return s, nil
}

// Send delivers m. m.From defaults to the From given to NewSMTP.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	from := m.From
	if from == "" {
		from = s.from
	}
	body, rcpts, err := s.compose(from, m)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok && s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	if err := s.deliver(ctx, from, rcpts, body); err != nil {
		return fmt.Errorf("send mail via %s: %w", s.host, err)
	}
	return nil
}

// compose validates m and renders it as an RFC 5322 message.
func (s *SMTP) compose(from string, m *Message) ([]byte, []string, error) {
	if _, err := checkAddress(from); err != nil {
		return nil, nil, err
	}
	if len(m.To) == 0 || len(m.To) > maxRecipients {
		return nil, nil, fmt.Errorf("%w: between 1 and %d recipients", ErrInvalidMessage, maxRecipients)
	}
	for _, to := range m.To {
		if _, err := checkAddress(to); err != nil {
			return nil, nil, err
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n\x00") || len(m.Subject) > maxSubjectLen || !utf8.ValidString(m.Subject) {
		return nil, nil, fmt.Errorf("%w: bad subject", ErrInvalidMessage)
	}
	if m.Text == "" || len(m.Text)+len(m.HTML) > maxBodyLen || !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, nil, fmt.Errorf("%w: text body missing, too large or not UTF-8", ErrInvalidMessage)
	}
	var b bytes.Buffer
	id := make([]byte, 16)
	if _, err := s.Rand(id); err != nil {
		return nil, nil, err
	}
	_, fromDomain, _ := strings.Cut(from, "@")
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", strings.Join(m.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", s.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+fromDomain+">")
	hdr("MIME-Version", "1.0")
	hdr("Auto-Submitted", "auto-generated")
	if m.HTML == "" {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, nil, err
		}
		return b.Bytes(), m.To, nil
	}
	mw := multipart.NewWriter(&b)
	hdr("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, nil, err
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), m.To, nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// deliver runs one SMTP transaction.
func (s *SMTP) deliver(ctx context.Context, from string, rcpts []string, body []byte) error {
	hostname, _, _ := net.SplitHostPort(s.host)
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	tlsConf = tlsConf.Clone()
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = hostname
	}
	var conn net.Conn
	var err error
	if s.implicit {
		d := &tls.Dialer{Config: tlsConf}
		conn, err = d.DialContext(ctx, "tcp", s.host)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", s.host)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, hostname)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.Hostname); err != nil {
		return err
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		}
	}
	if s.auth != nil {
		pass, _ := s.auth.Password()
		if err := c.Auth(smtp.PlainAuth("", s.auth.Username(), pass, hostname)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
