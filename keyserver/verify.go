package keyserver

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/sealprint/sealprint/internal/mail"
)

var errRateLimited = errors.New("rate limited")

// mailAllowed applies the per-address and per-client mail limits.
func (h *Handler) mailAllowed(r *http.Request, email string) bool {
	return h.mailIP.allow(h.clientIP(r)) && h.perAddr.allow(email)
}

// sendVerification mails a single-use link that publishes email for fpr.
func (h *Handler) sendVerification(r *http.Request, fpr, email string) error {
	ctx := r.Context()
	if !h.mailAllowed(r, email) {
		return errRateLimited
	}
	secret, hash, err := newToken(h.opts.Rand)
	if err != nil {
		return err
	}
	t := &Token{Hash: hash, Kind: tokenVerify, Fingerprint: fpr, Email: email, Expires: h.opts.Now().Add(h.opts.TokenTTL)}
	if err := h.dir.store.PutToken(ctx, t); err != nil {
		return err
	}
	link := h.opts.PublicURL + "/verify/" + secret
	text, err := h.mailText("verify", email, fpr, link)
	if err != nil {
		return err
	}
	err = h.opts.Mail.Send(ctx, &mail.Message{
		From:    h.opts.MailFrom,
		To:      []string{email},
		Subject: subjectVerify,
		Text:    text,
	})
	if err != nil {
		h.dir.store.DeleteToken(ctx, hash)
		return err
	}
	h.log.Info("verification mail sent", "fingerprint", fpr)
	return nil
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{{.Title}}</h1>
{{if .Text}}<p>{{.Text}}</p>{{end}}
{{if .Fingerprint}}<p>Empreinte / Fingerprint: <code>{{.Fingerprint}}</code></p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
{{if .AskEmail}}<label>Adresse / Email address <input type="email" name="email" required></label>{{end}}
<button type="submit">{{.Button}}</button></form>{{end}}
</body></html>
`))

type page struct {
	Title, Text, Fingerprint, Action, Button string
	AskEmail                                 bool
}

func writePage(w http.ResponseWriter, code int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	pageTmpl.Execute(w, p)
}

var invalidLink = page{Title: "Lien invalide / Link invalid", Text: "Ce lien est invalide, déjà utilisé ou expiré. / This link is invalid, was already used or has expired."}

// lookupToken returns the live token of kind named by the path.
func (h *Handler) lookupToken(r *http.Request, kind string) (*Token, string) {
	secret := r.PathValue("token")
	if !validTokenSyntax(secret) {
		return nil, ""
	}
	t, err := h.dir.store.GetToken(r.Context(), tokenHash(secret))
	if err != nil || t.Kind != kind {
		return nil, ""
	}
	return t, secret
}

// consumeToken takes the live token of kind named by the path, in one
// step of the store, so a link works once even when the same link is
// posted to several replicas at once. When it cannot, it has answered
// the request.
func (h *Handler) consumeToken(w http.ResponseWriter, r *http.Request, kind string) (*Token, bool) {
	secret := r.PathValue("token")
	if !validTokenSyntax(secret) {
		writePage(w, http.StatusNotFound, invalidLink)
		return nil, false
	}
	t, err := h.dir.store.TakeToken(r.Context(), tokenHash(secret), kind)
	if errors.Is(err, ErrNotFound) {
		writePage(w, http.StatusNotFound, invalidLink)
		return nil, false
	}
	if err != nil {
		h.internalError(w, "consume token", err)
		return nil, false
	}
	return t, true
}

// verifyPage serves GET /verify/{token}: a confirmation form, so that mail
// scanners that follow links publish nothing.
func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	t, secret := h.lookupToken(r, tokenVerify)
	if t == nil {
		writePage(w, http.StatusNotFound, invalidLink)
		return
	}
	writePage(w, http.StatusOK, page{
		Title:       "Publier votre clé / Publish your key",
		Text:        "Publier cette clé pour " + t.Email + " ? / Publish this key for " + t.Email + "?",
		Fingerprint: t.Fingerprint,
		Action:      "/verify/" + secret,
		Button:      "Publier / Publish",
	})
}

// verifyConfirm serves POST /verify/{token}: it consumes the token and
// publishes the address.
func (h *Handler) verifyConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.consumeToken(w, r, tokenVerify)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := h.dir.publish(ctx, t.Fingerprint, t.Email); err != nil {
		h.log.Warn("publish failed", "fingerprint", t.Fingerprint, "err", err)
		writePage(w, http.StatusConflict, page{Title: "Non publiée / Not published", Text: "Cette adresse ne peut plus être publiée pour cette clé. / This address can no longer be published for this key."})
		return
	}
	h.log.Info("address published", "fingerprint", t.Fingerprint)
	writePage(w, http.StatusOK, page{
		Title:       "Clé publiée / Key published",
		Text:        "Votre clé est publiée pour " + t.Email + ". / Your key is now published for " + t.Email + ".",
		Fingerprint: t.Fingerprint,
	})
}

// managePage serves GET /manage: a form asking for the address.
func (h *Handler) managePage(w http.ResponseWriter, r *http.Request) {
	writePage(w, http.StatusOK, page{
		Title:    "Gérer votre clé / Manage your key",
		Text:     "Saisissez votre adresse : si une clé est publiée pour elle, un lien pour la retirer vous sera envoyé. / Enter your address; if a key is published for it, we mail you a link to remove it.",
		Action:   "/manage",
		Button:   "Envoyer le lien / Send link",
		AskEmail: true,
	})
}

// manageSent is the one answer to every management request, so that it
// reveals nothing about which addresses are published.
const manageSent = "Si une clé est publiée pour cette adresse, un lien pour la gérer lui a été envoyé. / If a key is published for this address, a link to manage it was mailed to it."

// manageRequest serves POST /manage (form or JSON {"email": "…"}): it mails
// a single-use unpublish link when the address is published. The answer is
// the same for every address.
func (h *Handler) manageRequest(w http.ResponseWriter, r *http.Request) {
	if !h.clientAllowed(w, r) {
		return
	}
	var email string
	jsonReq := r.Header.Get("Content-Type") == "application/json"
	if jsonReq {
		var req struct {
			Email string `json:"email"`
		}
		if !readJSON(w, r, 4096, &req) {
			return
		}
		email = req.Email
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "malformed request")
			return
		}
		email = r.PostForm.Get("email")
	}
	email = NormalizeEmail(email)
	if email == "" {
		writeError(w, http.StatusBadRequest, "malformed email address")
		return
	}
	if h.opts.Mail == nil || h.opts.PublicURL == "" {
		writeError(w, http.StatusServiceUnavailable, "this key directory does not send mail")
		return
	}
	if err := h.sendManage(r, email); err != nil && !errors.Is(err, errRateLimited) {
		h.log.Error("send manage mail", "err", err)
	}
	if jsonReq {
		writeJSON(w, http.StatusOK, map[string]string{"status": manageSent})
		return
	}
	writePage(w, http.StatusOK, page{Title: "Consultez vos messages / Check your mail", Text: manageSent})
}

func (h *Handler) sendManage(r *http.Request, email string) error {
	ctx := r.Context()
	fprs, err := h.dir.store.ByEmail(ctx, email)
	if err != nil || len(fprs) == 0 {
		return err
	}
	if !h.mailAllowed(r, email) {
		return errRateLimited
	}
	secret, hash, err := newToken(h.opts.Rand)
	if err != nil {
		return err
	}
	t := &Token{Hash: hash, Kind: tokenManage, Fingerprint: fprs[0], Email: email, Expires: h.opts.Now().Add(h.opts.TokenTTL)}
	if err := h.dir.store.PutToken(ctx, t); err != nil {
		return err
	}
	link := h.opts.PublicURL + "/manage/" + secret
	text, err := h.mailText("manage", email, fprs[0], link)
	if err != nil {
		return err
	}
	return h.opts.Mail.Send(ctx, &mail.Message{
		From:    h.opts.MailFrom,
		To:      []string{email},
		Subject: subjectManage,
		Text:    text,
	})
}

// manageTokenPage serves GET /manage/{token}: a confirmation form.
func (h *Handler) manageTokenPage(w http.ResponseWriter, r *http.Request) {
	t, secret := h.lookupToken(r, tokenManage)
	if t == nil {
		writePage(w, http.StatusNotFound, invalidLink)
		return
	}
	writePage(w, http.StatusOK, page{
		Title:       "Retirer votre adresse / Remove your address",
		Text:        "Retirer " + t.Email + " de l'annuaire ? Les expéditeurs ne trouveront plus votre clé par cette adresse. / Remove " + t.Email + " from the key directory? Senders will no longer find your key by this address.",
		Fingerprint: t.Fingerprint,
		Action:      "/manage/" + secret,
		Button:      "Retirer / Remove",
	})
}

// manageConfirm serves POST /manage/{token}: it consumes the token and
// unpublishes the address.
func (h *Handler) manageConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.consumeToken(w, r, tokenManage)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := h.dir.unpublish(ctx, t.Email); err != nil {
		h.internalError(w, "unpublish", err)
		return
	}
	h.log.Info("address unpublished", "fingerprint", t.Fingerprint)
	writePage(w, http.StatusOK, page{Title: "Adresse retirée / Address removed", Text: t.Email + " n'est plus publiée. / " + t.Email + " is no longer published."})
}
