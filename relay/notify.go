package relay

import (
	"bytes"
	"context"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/relayapi"
)

// notice is a kind of mail to a sender about one of its drops.
type notice int

const (
	noticeOpened   notice = iota // first download
	noticeReceipt                // first receipt: the recipient decrypted it
	noticeLocked                 // too many wrong access codes
	noticeExpired                // expired without any download
	noticeUnopened               // the sender's client chases: not opened in time
	noticeReply                  // a recipient's secure reply arrived
)

// mailData feeds the templates. Mails are bilingual (French first) since
// the relay does not know the reader's language.
type mailData struct {
	SenderName string
	Link       string
	Expires    time.Time
	ExpiresFR  string
	ExpiresEN  string
	LinkMode   bool
	Size       int64
	DropID     string
	Recipients string
	FR, EN     string // the sender notices' one-line message
}

const readyText = `{{.SenderName}} vous a envoyé un document scellé (chiffré de bout en bout).
{{if .LinkMode}}Le lien complet, avec sa clé, vous est transmis séparément par l'expéditeur ; cette adresse seule ne suffit pas à l'ouvrir :
{{else}}Ouvrez-le dans votre navigateur :
{{end}}{{.Link}}
Disponible jusqu'au {{.ExpiresFR}}.

{{.SenderName}} sent you a sealed (end-to-end encrypted) document.
{{if .LinkMode}}The full link, with its key, reaches you separately from the sender; this address alone cannot open it:
{{else}}Open it in your browser:
{{end}}{{.Link}}
Available until {{.ExpiresEN}}.
`

const readyHTML = `<!doctype html><html><body style="font-family:sans-serif">
<p lang="fr"><strong>{{.SenderName}}</strong> vous a envoyé un document scellé (chiffré de bout en bout).
{{if .LinkMode}}Le lien complet, avec sa clé, vous est transmis séparément par l'expéditeur.{{end}}</p>
<p lang="fr"><a href="{{.Link}}">Ouvrir le document</a> — disponible jusqu'au {{.ExpiresFR}}.</p>
<hr>
<p lang="en"><strong>{{.SenderName}}</strong> sent you a sealed (end-to-end encrypted) document.
{{if .LinkMode}}The full link, with its key, reaches you separately from the sender.{{end}}</p>
<p lang="en"><a href="{{.Link}}">Open the document</a> — available until {{.ExpiresEN}}.</p>
</body></html>
`

const senderText = `{{.FR}}
Document {{.DropID}} ({{.Size}} octets) pour {{.Recipients}}.

{{.EN}}
Document {{.DropID}} ({{.Size}} bytes) for {{.Recipients}}.
`

const senderHTML = `<!doctype html><html><body style="font-family:sans-serif">
<p lang="fr">{{.FR}}<br>Document <code>{{.DropID}}</code> ({{.Size}} octets) pour {{.Recipients}}.</p>
<hr>
<p lang="en">{{.EN}}<br>Document <code>{{.DropID}}</code> ({{.Size}} bytes) for {{.Recipients}}.</p>
</body></html>
`

var (
	readyTextTmpl  = texttemplate.Must(texttemplate.New("t").Parse(readyText))
	readyHTMLTmpl  = htmltemplate.Must(htmltemplate.New("h").Parse(readyHTML))
	senderTextTmpl = texttemplate.Must(texttemplate.New("t").Parse(senderText))
	senderHTMLTmpl = htmltemplate.Must(htmltemplate.New("h").Parse(senderHTML))
)

var frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet",
	"août", "septembre", "octobre", "novembre", "décembre"}

func dateFR(t time.Time) string {
	t = t.UTC()
	return t.Format("2") + " " + frMonths[t.Month()-1] + " " + t.Format("2006 à 15:04") + " UTC"
}

func dateEN(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// render executes a text and an HTML template on d.
func render(tt *texttemplate.Template, ht *htmltemplate.Template, d *mailData) (string, string, error) {
	var tb, hb bytes.Buffer
	if err := tt.Execute(&tb, d); err != nil {
		return "", "", err
	}
	if err := ht.Execute(&hb, d); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}

// notifyReady mails each recipient of a drop that just became ready, if
// the sender asked for it. The link never carries a fragment: the relay
// does not know the link-mode secret.
func (s *Server) notifyReady(d *Drop, baseURL string) {
	if s.cfg.Mail == nil || !d.Notify || len(d.Recipients) == 0 {
		return
	}
	name := d.SenderID
	if snd, err := s.store.Sender(context.Background(), d.SenderID); err == nil {
		name = snd.Name
	}
	data := &mailData{SenderName: name, Link: relayapi.Link(baseURL, d.ID), Expires: d.ExpiresAt,
		ExpiresFR: dateFR(d.ExpiresAt), ExpiresEN: dateEN(d.ExpiresAt), LinkMode: d.Mode == "link"}
	text, html, err := render(readyTextTmpl, readyHTMLTmpl, data)
	if err != nil {
		s.log.Error("render mail", "err", err)
		return
	}
	for _, to := range d.Recipients {
		s.sendMail(&mail.Message{
			From: s.cfg.MailFrom, To: []string{to},
			Subject: "Document scellé de " + name + " / Sealed document from " + name,
			Text:    text, HTML: html,
		})
	}
}

// notifiedAt is when notifyReady mailed d's recipients (the moment it
// became ready), zero if it did not.
func (s *Server) notifiedAt(d *Drop) time.Time {
	if s.cfg.Mail == nil || !d.Notify || len(d.Recipients) == 0 {
		return time.Time{}
	}
	return d.ReadyAt
}

// notifySender mails the drop's sender about an event, if it has an
// address.
func (s *Server) notifySender(d *Drop, n notice) {
	if s.cfg.Mail == nil {
		return
	}
	snd, err := s.store.Sender(context.Background(), d.SenderID)
	if err != nil || snd.Email == "" {
		return
	}
	data := &mailData{DropID: d.ID, Size: d.Size, Recipients: strings.Join(d.Recipients, ", ")}
	if data.Recipients == "" {
		data.Recipients = "—"
	}
	var subjFR, subjEN string
	switch n {
	case noticeOpened:
		subjFR, subjEN = "Document téléchargé", "Document downloaded"
		data.FR = "Votre document scellé vient d'être téléchargé pour la première fois."
		data.EN = "Your sealed document has just been downloaded for the first time."
	case noticeReceipt:
		subjFR, subjEN = "Document ouvert", "Document opened"
		data.FR = "Le destinataire a déchiffré votre document et envoyé un accusé de réception."
		data.EN = "The recipient decrypted your document and sent a receipt."
	case noticeLocked:
		subjFR, subjEN = "Document verrouillé", "Document locked"
		data.FR = "Trop de codes d'accès erronés : le document est verrouillé et effacé du relais. Renvoyez-le si besoin."
		data.EN = "Too many wrong access codes: the document is locked and erased from the relay. Send it again if needed."
	case noticeUnopened:
		subjFR, subjEN = "Document pas encore ouvert", "Document not opened yet"
		data.FR = "Votre document scellé n'a pas encore été téléchargé par son destinataire. Pensez à le prévenir."
		data.EN = "Your sealed document has not been downloaded by its recipient yet. Consider telling them."
	case noticeExpired:
		subjFR, subjEN = "Document expiré sans être ouvert", "Document expired unopened"
		data.FR = "Votre document scellé a expiré sans avoir été téléchargé ; il est effacé du relais."
		data.EN = "Your sealed document expired without being downloaded; it is erased from the relay."
	case noticeReply:
		// The relay knows no title and the reply is ciphertext: the mail
		// names the drop by when it was sent, nothing of the reply's content.
		subjFR, subjEN = "Réponse sécurisée reçue", "Secure reply received"
		data.FR = "Une réponse chiffrée est arrivée à votre envoi du " + dateFR(d.CreatedAt) +
			". Ouvrez-la avec sealprint (sealprint jobs ou sealprint replies, puis sealprint open --reply)."
		data.EN = "An encrypted reply arrived to what you sent on " + dateEN(d.CreatedAt) +
			". Open it with sealprint (sealprint jobs or sealprint replies, then sealprint open --reply)."
	}
	text, html, err := render(senderTextTmpl, senderHTMLTmpl, data)
	if err != nil {
		s.log.Error("render mail", "err", err)
		return
	}
	s.sendMail(&mail.Message{From: s.cfg.MailFrom, To: []string{snd.Email},
		Subject: subjFR + " / " + subjEN, Text: text, HTML: html})
}

// notifyReply mails the sender of the drop that reply answers that a
// reply arrived (see notifySender).
func (s *Server) notifyReply(ctx context.Context, reply *Drop) {
	if s.cfg.Mail == nil || reply.ReplyTo == "" {
		return
	}
	orig, err := s.store.Drop(ctx, reply.ReplyTo)
	if err != nil {
		s.log.WarnContext(ctx, "reply notice: load drop", "drop", reply.ReplyTo, "err", err)
		return
	}
	s.notifySender(orig, noticeReply)
}

// sendMail delivers m in the background; Close waits for it.
func (s *Server) sendMail(m *mail.Message) {
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.cfg.Mail.Send(ctx, m); err != nil {
			s.metrics.mails.WithLabelValues("error").Inc()
			s.log.Error("send mail", "subject", m.Subject, "err", err)
			return
		}
		s.metrics.mails.WithLabelValues("sent").Inc()
	}()
}
