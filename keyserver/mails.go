package keyserver

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Mail texts, in French then English (the directory's users are French
// public services and their correspondents).
var mailTmpl = template.Must(template.New("").Parse(`
{{define "verify"}}Bonjour,

Quelqu'un a demandé la publication d'une clé OpenPGP pour {{.Email}} dans
l'annuaire de clés de {{.Site}}, afin que les documents envoyés à cette
adresse soient chiffrés pour elle.

Empreinte de la clé : {{.Fingerprint}}

Si c'est votre clé, ouvrez ce lien pour la publier (valable {{.TTL}}, usage
unique) :

{{.Link}}

Si vous n'avez rien demandé, ignorez ce message : rien n'est publié.

----

Hello,

Someone asked to publish an OpenPGP key for {{.Email}} in the key directory
at {{.Site}}, so that documents sent to this address can be encrypted to it.

Key fingerprint: {{.Fingerprint}}

If this is your key, open the link above to publish it (valid {{.TTL}},
single use). If you did not ask for this, ignore this mail: nothing is
published.
{{end}}
{{define "manage"}}Bonjour,

Quelqu'un a demandé à gérer la clé OpenPGP publiée pour {{.Email}} dans
l'annuaire de clés de {{.Site}}.

Empreinte de la clé : {{.Fingerprint}}

Pour retirer cette adresse de l'annuaire, ouvrez ce lien (valable {{.TTL}},
usage unique) :

{{.Link}}

Si vous n'avez rien demandé, ignorez ce message : rien ne change.

----

Hello,

Someone asked to manage the OpenPGP key published for {{.Email}} in the key
directory at {{.Site}}. To remove this address from the directory, open the
link above (valid {{.TTL}}, single use). If you did not ask for this, ignore
this mail: nothing changes.
{{end}}`))

type mailData struct {
	Email, Site, Fingerprint, Link, TTL string
}

// mailText renders the mail named name ("verify" or "manage").
func (h *Handler) mailText(name, email, fpr, link string) (string, error) {
	var b strings.Builder
	err := mailTmpl.ExecuteTemplate(&b, name, mailData{
		Email: email, Site: h.opts.PublicURL, Fingerprint: fpr, Link: link, TTL: humanTTL(h.opts.TokenTTL),
	})
	return b.String(), err
}

// humanTTL formats a token lifetime in hours or minutes.
func humanTTL(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// Mail subjects.
const (
	subjectVerify = "Vérifiez votre adresse / Verify your address — annuaire de clés"
	subjectManage = "Gérer votre clé / Manage your key — annuaire de clés"
)
