package jobs

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

// Lang is a language of the jobs page, its notifications and 'sealprint
// jobs': French first, English second.
type Lang string

// The languages spoken.
const (
	French  Lang = "fr"
	English Lang = "en"
)

// langCookie remembers the language chosen with the page's switch.
const langCookie = "sealprint_lang"

// ParseLang reads a language tag ("fr-FR", "en_GB.UTF-8", "en") and
// returns the language spoken for it, French when it is neither.
func ParseLang(tag string) Lang {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if strings.HasPrefix(tag, "en") {
		return English
	}
	return French
}

// LangFromEnv picks the language of a command from the POSIX locale
// variables (LC_ALL, LC_MESSAGES, LANG, in that order), as getenv returns
// them; French when none names English.
func LangFromEnv(getenv func(string) string) Lang {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" && v != "C" && v != "POSIX" {
			return ParseLang(v)
		}
	}
	return French
}

// requestLang chooses the page's language: the switch (?lang=), then the
// cookie it set, then Accept-Language (the first of fr or en by weight),
// then French.
func requestLang(r *http.Request) Lang {
	if q := r.URL.Query().Get("lang"); q == "fr" || q == "en" {
		return Lang(q)
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "fr" || c.Value == "en") {
		return Lang(c.Value)
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// acceptLang returns the language of highest weight in an Accept-Language
// header among those spoken.
func acceptLang(h string) Lang {
	best, bestQ := French, -1.0
	if len(h) > 1024 {
		h = h[:1024]
	}
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		tag = strings.ToLower(tag)
		var l Lang
		switch {
		case tag == "fr" || strings.HasPrefix(tag, "fr-"):
			l = French
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			l = English
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// T returns the message key in l, formatted with args. An unknown key is
// returned as is (a test checks every key exists in both languages).
func (l Lang) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m.fr
	if l == English {
		s = m.en
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Date formats t in the computer's time zone the way l writes dates.
func (l Lang) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	if l == English {
		return t.Format("2 Jan 2006, 15:04 MST")
	}
	return fmt.Sprintf("%d %s %d à %s", t.Day(), frMonths[t.Month()-1], t.Year(), t.Format("15:04"))
}

var frMonths = [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

// State names a job state for people.
func (l Lang) State(s spooler.State) string { return l.T("state." + string(s)) }

// Message is the one-line description of j for the sender in l, naming
// the jobs page page (the spooler's own StatusMessageAt is the English
// text printers show).
func (l Lang) Message(j *spooler.Job, page string) string {
	if l == English {
		return j.StatusMessageAt(page)
	}
	if page == "" {
		page = spooler.DefaultPageURL
	}
	who := l.Recipients(j)
	switch j.State {
	case spooler.Received:
		return "reçu, en attente de conversion en PDF"
	case spooler.Rendered:
		return "converti en PDF, en attente de scellement"
	case spooler.Held:
		return "en attente : choisissez les destinataires sur la page des travaux (" + page + ") ou avec sealprint jobs release"
	case spooler.Sealed:
		return "scellé pour " + who + ", envoi en cours"
	case spooler.Uploaded:
		return "déposé pour " + who + ", pas encore ouvert"
	case spooler.Delivered:
		if j.Receipts > 0 {
			return "ouvert par le destinataire (déchiffrement confirmé par accusé de réception)"
		}
		return "ouvert par le destinataire"
	case spooler.Failed:
		if j.Permanent {
			return "échec : " + j.Error
		}
		return "échec, nouvel essai prévu : " + j.Error
	case spooler.Canceled:
		return "annulé"
	case spooler.Expired:
		return "expiré"
	}
	return string(j.State)
}

// Recipients names j's recipients for a sentence in l.
func (l Lang) Recipients(j *spooler.Job) string {
	if l == English {
		return j.RecipientSummary()
	}
	switch len(j.Recipients) {
	case 0:
		return "personne"
	case 1:
		return j.Recipients[0]
	}
	return j.Recipients[0] + " et d'autres"
}

type msg struct{ fr, en string }

// messages is the page's and the notifications' text, French first.
var messages = map[string]msg{
	"title":          {"Travaux d'impression scellée", "Sealed print jobs"},
	"switch":         {"English", "Français"},
	"switch.lang":    {"en", "fr"},
	"held":           {"En attente de destinataires", "Waiting for recipients"},
	"held.none":      {`Aucun travail en attente. Imprimez vers l'imprimante « Sealed print » pour choisir ici les destinataires.`, `No job is waiting. Print to the "Sealed print" printer to choose recipients here.`},
	"pages":          {"%d page(s)", "%d page(s)"},
	"pdf.signature":  {"Signature PDF :", "PDF signature:"},
	"printed":        {"imprimé le %s", "printed %s"},
	"by":             {"par %s", "by %s"},
	"queue":          {"file %s", "queue %s"},
	"sendto":         {"Envoyer à", "Send to"},
	"book.empty":     {"Le carnet d'adresses est vide : saisissez une adresse ci-dessous (sa clé sera recherchée).", "The address book is empty: type an address below (its key is looked up)."},
	"other":          {"Autres adresses (séparées par des virgules)", "Other addresses (comma separated)"},
	"send":           {"Sceller et envoyer", "Seal and send"},
	"cancel":         {"Annuler", "Cancel"},
	"retry":          {"Réessayer", "Retry"},
	"jobs":           {"Travaux", "Jobs"},
	"jobs.none":      {"Aucun travail pour l'instant.", "No jobs yet."},
	"col.doc":        {"Document", "Document"},
	"col.printed":    {"Imprimé", "Printed"},
	"col.recipients": {"Destinataires", "Recipients"},
	"col.state":      {"État", "State"},
	"col.actions":    {"Actions", "Actions"},
	"link":           {"Lien :", "Link:"},
	"downloads":      {"Téléchargements : %d", "Downloads: %d"},
	"receipts":       {"accusés de réception : %d", "receipts: %d"},
	"done.release":   {"Le travail est en route.", "The job is on its way."},
	"done.cancel":    {"Le travail a été annulé.", "The job was canceled."},
	"done.retry":     {"Le travail va être réessayé maintenant.", "The job will be tried again now."},

	"state.received":  {"reçu", "received"},
	"state.rendered":  {"converti", "rendered"},
	"state.held":      {"en attente", "held"},
	"state.sealed":    {"scellé", "sealed"},
	"state.uploaded":  {"déposé", "uploaded"},
	"state.delivered": {"téléchargé", "downloaded"},
	"state.failed":    {"échec", "failed"},
	"state.canceled":  {"annulé", "canceled"},
	"state.expired":   {"expiré", "expired"},

	"notify.held":         {"Choisissez les destinataires", "Choose recipients"},
	"notify.held.body":    {"« %s » attend sur %s", `"%s" is waiting at %s`},
	"notify.failed":       {"Échec de l'impression scellée", "Sealed print failed"},
	"notify.failed.body":  {"« %s » : %s", `"%s": %s`},
	"notify.opened":       {"Document ouvert", "Document opened"},
	"notify.opened.body":  {"« %s » a été ouvert par %s", `"%s" was opened by %s`},
	"notify.expired":      {"Document expiré sans être ouvert", "Document expired unopened"},
	"notify.expired.body": {"« %s » n'a pas été ouvert à temps", `"%s" was not opened in time`},
	"notify.reply":        {"Réponse sécurisée reçue", "Secure reply received"},
	"notify.reply.body":   {"%d nouvelle(s) réponse(s) à « %s » : sealprint jobs les liste", `%d new repl(ies) to "%s": sealprint jobs lists them`},

	"replies":         {"Réponses sécurisées :", "Secure replies:"},
	"reply.item":      {"%s — %d octets chiffrés — sealprint open --reply %s", "%s — %d encrypted bytes — sealprint open --reply %s"},
	"reply.open":      {"Ouvrir", "Open"},
	"reply.open.name": {"Ouvrir la réponse du %s", "Open the reply of %s"},

	"reply.title":           {"Réponse sécurisée", "Secure reply"},
	"reply.to":              {"Réponse à « %s » reçue le %s", `Reply to "%s" received %s`},
	"reply.sig.valid":       {"Signature valide du destinataire : %s", "Valid signature of the recipient: %s"},
	"reply.sig.unknown":     {"Signée par une clé inconnue %s — identité NON vérifiée", "Signed by an unknown key %s — identity NOT verified"},
	"reply.sig.none":        {"Réponse non signée (le destinataire n'avait pas de clé personnelle) : son auteur n'est pas prouvé", "Unsigned reply (the recipient had no personal key): its author is not proven"},
	"reply.message":         {"Message", "Message"},
	"reply.files":           {"Fichiers joints", "Attached files"},
	"reply.nofiles":         {"Aucun fichier joint.", "No attached file."},
	"reply.size":            {"%d octets", "%d bytes"},
	"reply.download":        {"Télécharger", "Download"},
	"reply.download.name":   {"Télécharger %s", "Download %s"},
	"reply.download.status": {"État du téléchargement de %s", "Download status of %s"},
	"reply.note":            {"Déchiffrée sur cet ordinateur ; rien n'est enregistré en clair par le service. Chaque fichier est remis à votre navigateur à la demande.", "Decrypted on this computer; the service saves nothing decrypted. Each file is handed to your browser when you ask."},
	"reply.back":            {"Retour à mes envois", "Back to my documents"},
	"reply.unavailable":     {"L'ouverture des réponses n'est pas disponible ici : utilisez sealprint open --reply", "Opening replies is not available here: use sealprint open --reply"},
	"reply.notfound":        {"Réponse inconnue", "No such reply"},
	"reply.failed":          {"La réponse n'a pas pu être ouverte : %s", "The reply could not be opened: %s"},

	"mode":            {"Mode d'envoi", "How to send"},
	"mode.key":        {"Chiffré pour la clé du destinataire (il reçoit un courriel)", "Encrypted to the recipient's key (they get a mail)"},
	"mode.link":       {"Par lien, pour un destinataire sans clé (vous lui transmettez le lien)", "By link, for a recipient without a key (you pass the link on)"},
	"code":            {"Exiger un code d'accès (mode lien)", "Require an access code (link mode)"},
	"code.via":        {"Transmission du code", "How the code travels"},
	"code.via.show":   {"Affiché ici, je le dicte par téléphone", "Shown here, I read it by phone"},
	"code.via.sms":    {"Par SMS (envoyé par le relais)", "By SMS (sent by the relay)"},
	"code.via.mail":   {"Par courriel à une autre adresse que celle du lien", "By mail to another address than the link's"},
	"code.dest":       {"Numéro de portable ou adresse", "Mobile number or address"},
	"code.sent":       {"Code d'accès envoyé par le relais : %s", "Access code sent by the relay: %s"},
	"code.how":        {"Le code est affiché une seule fois, après l'envoi : dictez-le au destinataire par téléphone, jamais dans le courriel du lien.", "The code is shown once, after sending: read it to the recipient by phone, never in the link's mail."},
	"code.once":       {"Code d'accès — affiché une seule fois, notez-le et dictez-le au destinataire :", "Access code — shown only once; note it and read it to the recipient:"},
	"limits":          {"Durée, téléchargements, échéance", "Expiry, downloads, deadline"},
	"expires":         {"Expire après (jours)", "Expires after (days)"},
	"maxdl":           {"Téléchargements au plus (vide : défaut du relais)", "Downloads at most (empty: relay default)"},
	"deadline":        {"Échéance de la garde à vue (facultatif)", "Custody deadline (optional)"},
	"reference":       {"Référence de procédure (facultatif)", "Procedure reference (optional)"},
	"cover.how":       {"L'échéance et la référence voyagent chiffrées avec le document ; seul le destinataire les voit.", "The deadline and reference travel encrypted with the document; only the recipient sees them."},
	"link.secret":     {"Lien à transmettre :", "Link to pass on:"},
	"link.recipient":  {"Son lien, à ne transmettre qu'à ce destinataire :", "Their own link, to pass on to this recipient only:"},
	"deadline.short":  {"Échéance :", "Deadline:"},
	"reference.short": {"Référence :", "Reference:"},

	"preview.title": {"Aperçu de « %s »", `Preview of "%s"`},
	"preview.pages": {"Pages", "Pages"},
	"preview.open":  {"Ouvrir l'aperçu dans un onglet", "Open the preview in a tab"},
	"preview.gone":  {"Pas d'aperçu : le document n'est pas encore converti ou a déjà été scellé.", "No preview: the document is not rendered yet or was already sealed."},

	"delivery.uploaded":                {"déposé", "uploaded"},
	"delivery.mailed":                  {"courriel envoyé", "mailed"},
	"delivery.opened":                  {"ouvert", "opened"},
	"delivery.expired":                 {"expiré", "expired"},
	"delivery.exhausted":               {"téléchargements épuisés", "downloads exhausted"},
	"delivery.locked":                  {"verrouillé (codes erronés)", "locked (wrong codes)"},
	"delivery.revoked":                 {"retiré", "revoked"},
	"delivery.uploaded.at":             {"déposé le %s", "uploaded %s"},
	"delivery.mailed.at":               {"courriel le %s", "mailed %s"},
	"delivery.opened.at":               {"ouvert le %s", "opened %s"},
	"delivery.ended.at":                {"fin le %s", "ended %s"},
	"delivery.opened.by.recipientkey":  {"accusé signé par sa clé", "receipt signed with their key"},
	"delivery.opened.by.recipientlink": {"ouvert avec son propre lien", "opened with their own link"},
	"delivery.opened.by.someone":       {"accusé non signé : ouvert, sans savoir par quel destinataire", "unsigned receipt: opened, recipient unknown"},

	"chase.title":    {"Rapport pas encore ouvert", "Report not opened yet"},
	"chase.body":     {"« %s » n'a pas encore été ouvert par %s.", `"%s" has not been opened by %s yet.`},
	"chase.deadline": {"Échéance : %s.", "Deadline: %s."},
	"chase.mark":     {"Relance : pas ouvert (%s)", "Chased: not opened (%s)"},
	"chase.mailed":   {"courriel envoyé", "mail sent"},
	"chase.first":    {"premier délai", "first delay"},
	"chase.second":   {"second délai", "second delay"},
	"chase.half":     {"moitié du délai avant l'échéance", "half the time to the deadline"},
	"chase.90":       {"90 % du délai avant l'échéance", "90% of the time to the deadline"},

	"policy.domains": {"Destinataires autorisés par l'organisation :", "Recipients the organisation allows:"},
	"policy.code":    {"L'organisation exige un code d'accès en mode lien.", "The organisation requires an access code in link mode."},
	"policy.archive": {"Une copie est aussi chiffrée pour la clé d'archives de l'organisation, empreinte", "A copy is also encrypted to the organisation's archive key, fingerprint"},

	"cli.none":             {"aucun travail", "no jobs"},
	"cli.header":           {"ID\tIMPRIMÉ\tÉTAT\tNOM\tDESTINATAIRES\tLIEN / ÉTAT", "ID\tPRINTED\tSTATE\tNAME\tRECIPIENTS\tLINK / STATUS"},
	"cli.link.recipient":   {"  ↳ lien de %s\t%s", "  ↳ link for %s\t%s"},
	"cli.downloaded":       {"(téléchargé %d fois)", "(downloaded %d×)"},
	"cli.release.to":       {"release demande --to ADRESSE", "release needs --to EMAIL"},
	"cli.release.code":     {"--code va avec --link (le mode clé n'a pas besoin de code)", "--code goes with --link (key mode needs no code)"},
	"cli.release.codeto":   {"--code-to va avec --code", "--code-to goes with --code"},
	"cli.release.deadline": {"%q : une date et une heure, « 2026-12-02 18:30 » (heure locale) ou RFC 3339", "%q: a date and time, '2026-12-02 18:30' (local time) or RFC 3339"},
	"cli.code.channel":     {"Le relais envoie le code d'accès par %s.", "The relay sends the access code by %s."},
	"cli.pin.noservice":    {"le service ne tourne pas : le code PIN se donne au service en marche (« sealprint serve »)", "the service is not running: the PIN is given to the running service ('sealprint serve')"},
	"cli.pin.ok":           {"Code PIN accepté : %d document(s) en attente signé(s) et envoyé(s).", "PIN accepted: %d waiting document(s) signed and sent."},
	"cli.all.admin":        {"--all : seul root ou un administrateur voit les travaux de tous les utilisateurs", "--all: only root or an administrator sees every user's jobs"},
	"cli.all.service":      {"--all : le service ne tourne pas en administrateur, il ne montre que les travaux de son utilisateur", "--all: the service does not run as an administrator; it shows only its user's jobs"},
	"cli.reply":            {"  ↳ réponse %s\t%s\t%d octets chiffrés\tsealprint open --reply %s", "  ↳ reply %s\t%s\t%d encrypted bytes\tsealprint open --reply %s"},

	"err.expiry.range":     {"durée hors limites", "expiry out of range"},
	"err.expiry.config":    {"durée plus longue que ce que permet le relais (%d jours)", "expiry longer than the relay allows (%d days)"},
	"err.policy.domain":    {"%s : l'organisation n'autorise que %s (%s)", "%s: the organisation allows only %s (%s)"},
	"err.policy.expiry":    {"durée plus longue que ce que permet l'organisation (%s)", "expiry longer than the organisation allows (%s)"},
	"err.policy.downloads": {"la limite de téléchargements doit être entre 1 et %d (%s)", "download limit must be between 1 and %d (%s)"},
	"err.policy.code":      {"l'organisation exige un code d'accès en mode lien (%s)", "the organisation requires an access code in link mode (%s)"},
	"pin.required":         {"PIN de la carte requis", "Card PIN required"},
	"pin.wait":             {"PIN de la carte requis : saisissez-le sur la page des travaux ou avec « sealprint jobs pin »", "card PIN required: enter it on the jobs page or with 'sealprint jobs pin'"},
	"pin.how":              {"Ces documents seront signés avec votre carte dès que vous aurez saisi son code PIN. Il reste en mémoire pour cette session seulement ; il n'est jamais enregistré. Un code erroné n'est pas réessayé.", "These documents are signed with your card once you enter its PIN. It stays in memory for this session only and is never stored. A wrong PIN is not tried again."},
	"pin.label":            {"Code PIN de la carte", "Card PIN"},
	"pin.submit":           {"Signer et envoyer", "Sign and send"},
	"pin.refused":          {"La carte a refusé le code PIN ; rien n'a été réessayé.", "The card refused the PIN; nothing was tried again."},
	"done.pin":             {"Code PIN accepté : les documents en attente sont signés et envoyés.", "PIN accepted: the waiting documents are being signed and sent."},
	"notify.pin.body":      {"« %s » attend le code PIN de votre carte pour être signé", `"%s" is waiting for your card's PIN to be signed`},
	"err.keymismatch":      {"Ce n'est pas la clé pour laquelle ce travail attend : rien n'a été enregistré.", "This is not the key this job is waiting for: nothing was pinned."},
	"err.nokey":            {"Ce travail n'attend aucune clé à confirmer.", "This job is not waiting for a key to be confirmed."},
	"err.notpinned":        {"La clé n'a pas pu être enregistrée.", "The key could not be pinned."},
	"confirm.key":          {"Confirmer la clé %s de %s et envoyer", "Confirm key %s for %s and send"},
	"confirm.how":          {"Vérifiez cette empreinte avec le destinataire (par téléphone) avant de confirmer.", "Check this fingerprint with the recipient (by phone) before confirming."},
	"err.expired":          {"La page a expiré : rechargez-la et réessayez.", "The page has expired: reload it and try again."},
}
