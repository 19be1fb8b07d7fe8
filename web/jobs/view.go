package jobs

import "github.com/sealprint/sealprint/spooler"

// JobView is a job as shown by the page and the API: the record plus a
// sentence for people.
type JobView struct {
	*spooler.Job
	Message string `json:"message"`
	// SecretLink is a link-mode job's full link, its secret in the
	// fragment, when there is one link for the job (one secret shared by
	// all recipients, or one recipient): the sender passes it on. With
	// several recipients each has its own, in Deliveries.
	SecretLink string `json:"secret_link,omitempty"`
	// Deliveries is the status per recipient, once uploaded.
	Deliveries []RecipientStatus `json:"deliveries,omitempty"`
	// Chased are the reminders given while it stayed unopened.
	Chased []ChaseMark `json:"chased,omitempty"`
	// ConfirmKey is the first key of a recipient a held job waits for.
	ConfirmKey *KeyToConfirm `json:"confirm_key,omitempty"`
	// NeedsPIN says the job waits for the PDF signing card's PIN.
	NeedsPIN bool `json:"needs_pin,omitempty"`
}

// View returns j with its status message, naming the jobs page at its
// default address.
func View(j *spooler.Job) JobView { return ViewAt(j, spooler.DefaultPageURL) }

// ViewAt returns j with its status message in English, naming the jobs
// page page.
func ViewAt(j *spooler.Job, page string) JobView { return ViewIn(j, page, English) }

// ViewIn returns j with its status message in l, naming the jobs page page.
func ViewIn(j *spooler.Job, page string, l Lang) JobView {
	if j.Recipients == nil {
		j.Recipients = []string{}
	}
	v := JobView{Job: j, Message: l.Message(j, page), Deliveries: recipientStatuses(j), ConfirmKey: keyToConfirm(j)}
	if j.Link != "" && j.LinkSecret != "" {
		v.SecretLink = j.Link + "#" + j.LinkSecret
	}
	if j.Link != "" && len(j.LinkSecrets) == 1 {
		for _, secret := range j.LinkSecrets {
			v.SecretLink = j.Link + "#" + secret
		}
	}
	if NeedsPIN(j) {
		v.NeedsPIN = true
		v.Message = l.T("pin.wait")
	}
	return v
}
