package mail_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/testutil"
)

func TestSMTPDelivery(t *testing.T) {
	for _, tc := range []testutil.SMTPOptions{
		{},
		{TLS: "starttls", User: "relay", Password: "s3cret"},
		{TLS: "implicit", User: "relay", Password: "s3cret"},
	} {
		t.Run("tls="+tc.TLS, func(t *testing.T) {
			srv := testutil.StartSMTP(t, tc)
			s, err := mail.NewSMTP(srv.URL, "keys@relay.example")
			if err != nil {
				t.Fatal(err)
			}
			s.TLSConfig = srv.TLSConfig
			err = s.Send(context.Background(), &mail.Message{
				To:      []string{"martin@police.example"},
				Subject: "Vérifiez votre adresse",
				Text:    "Bonjour,\n.\nline with a lone dot above\n",
			})
			if err != nil {
				t.Fatal(err)
			}
			got := srv.WaitMessages(t, 1)[0]
			if got.From != "keys@relay.example" || len(got.To) != 1 || got.To[0] != "martin@police.example" {
				t.Fatalf("envelope %+v", got)
			}
			msg := got.Message(t)
			subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if subj != "Vérifiez votre adresse" {
				t.Fatalf("subject %q", subj)
			}
			body, _ := io.ReadAll(msg.Body)
			if !strings.Contains(string(body), "lone dot") {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestSMTPMultipart(t *testing.T) {
	srv := testutil.StartSMTP(t, testutil.SMTPOptions{})
	s, err := mail.NewSMTP(srv.URL, "keys@relay.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), &mail.Message{
		To: []string{"a@x.example"}, Subject: "hi", Text: "plain", HTML: "<p>html</p>",
	}); err != nil {
		t.Fatal(err)
	}
	msg := srv.WaitMessages(t, 1)[0].Message(t)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		types = append(types, p.Header.Get("Content-Type"))
	}
	if len(types) != 2 || !strings.HasPrefix(types[0], "text/plain") || !strings.HasPrefix(types[1], "text/html") {
		t.Fatalf("parts %v", types)
	}
}

func TestSMTPRefusesInjection(t *testing.T) {
	s, err := mail.NewSMTP("smtp://127.0.0.1:1", "keys@relay.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*mail.Message{
		{To: []string{"a@x.example\r\nBcc: victim@y.example"}, Subject: "s", Text: "t"},
		{To: []string{"a@x.example"}, Subject: "s\r\nBcc: victim@y.example", Text: "t"},
		{To: []string{"Name <a@x.example>"}, Subject: "s", Text: "t"},
		{From: "x@y\n", To: []string{"a@x.example"}, Subject: "s", Text: "t"},
		{To: nil, Subject: "s", Text: "t"},
	} {
		if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("%+v: %v, want ErrInvalidMessage", m, err)
		}
	}
	for _, u := range []string{"http://x", "smtp://", "smtp://h/path", "smtp://h?x=1"} {
		if _, err := mail.NewSMTP(u, ""); err == nil {
			t.Errorf("NewSMTP(%q) accepted", u)
		}
	}
}

func TestSMTPAuthNeedsTLS(t *testing.T) {
	srv := testutil.StartSMTP(t, testutil.SMTPOptions{TLS: "starttls", User: "u", Password: "p"})
	// Without trusting the server's certificate, STARTTLS fails and the
	// password is never sent.
	s, _ := mail.NewSMTP(srv.URL, "keys@relay.example")
	if err := s.Send(context.Background(), &mail.Message{To: []string{"a@x.example"}, Subject: "s", Text: "t"}); err == nil {
		t.Fatal("sent over an untrusted TLS connection")
	}
	s.TLSConfig = srv.TLSConfig
	wrong, _ := mail.NewSMTP(strings.Replace(srv.URL, "u:p@", "u:bad@", 1), "keys@relay.example")
	wrong.TLSConfig = srv.TLSConfig
	// aiosmtpd does not answer the client's "*" after a failed AUTH, so
	// bound the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := wrong.Send(ctx, &mail.Message{To: []string{"a@x.example"}, Subject: "s", Text: "t"}); err == nil {
		t.Fatal("wrong password accepted")
	}
}
