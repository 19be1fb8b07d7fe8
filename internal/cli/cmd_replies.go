package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/uploader"
)

// repliesEntry is one drop in 'sealprint replies --json'.
type repliesEntry struct {
	Drop       string           `json:"drop"`
	File       string           `json:"file,omitempty"`
	Recipients []string         `json:"recipients,omitempty"`
	SentAt     time.Time        `json:"sent_at,omitzero"`
	Replies    []relayapi.Reply `json:"replies"`
	// State is "" while the relay lists the drop's replies, else why it
	// does not (expired, revoked, exhausted, not found).
	State string `json:"state,omitempty"`
}

func runReplies(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint replies [DROP] [--json]"
	fs := newFlags("replies", usage+`

Lists the recipients' secure replies to the drops you made with
'sealprint send' (kept in sent.json in your sealprint directory), or to
DROP, any drop id of yours. Open one with 'sealprint open --reply ID'.
Replies to printed jobs are also listed by 'sealprint jobs'.`, e.stderr)
	jsonOut := fs.Bool("json", false, "print a JSON array of drops with their replies")
	pos, err := parsePositional(fs, args, 0, 1, usage)
	if err != nil {
		return err
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	var drops []sentDrop
	if len(pos) == 1 {
		if !relayapi.ValidDropID(pos[0]) {
			return usageError("%q is not a drop id", pos[0])
		}
		drops = []sentDrop{{ID: pos[0]}}
		if sent, err := readSent(p.home); err == nil {
			for _, d := range sent {
				if d.ID == pos[0] {
					drops[0] = d
				}
			}
		}
	} else if drops, err = readSent(p.home); err != nil {
		return err
	}
	client, err := p.relayClient(true)
	if err != nil {
		return err
	}
	out := make([]repliesEntry, 0, len(drops))
	for i := len(drops) - 1; i >= 0; i-- { // newest first
		d := drops[i]
		entry := repliesEntry{Drop: d.ID, File: d.File, Recipients: d.Recipients, SentAt: d.SentAt, Replies: []relayapi.Reply{}}
		list, err := client.Replies(ctx, d.ID)
		if state, gone := goneState(err); gone {
			entry.State = state
		} else if err != nil {
			return err
		} else if list != nil {
			entry.Replies = list
		}
		out = append(out, entry)
	}
	if *jsonOut {
		return writeJSON(e, out)
	}
	w := e.stdout
	if len(out) == 0 {
		fmt.Fprintln(w, "No drop sent with 'sealprint send' yet / aucun envoi par 'sealprint send'.")
		return nil
	}
	for _, d := range out {
		head := d.Drop
		if d.File != "" {
			head += "  " + d.File
		}
		if !d.SentAt.IsZero() {
			head += "  " + d.SentAt.Local().Format("2006-01-02 15:04")
		}
		if len(d.Recipients) > 0 {
			head += "  → " + strings.Join(d.Recipients, ", ")
		}
		fmt.Fprintln(w, head)
		switch {
		case d.State != "":
			fmt.Fprintf(w, "  (%s on the relay: its replies are gone / plus disponible)\n", d.State)
		case len(d.Replies) == 0:
			fmt.Fprintln(w, "  no reply yet / pas encore de réponse")
		}
		for _, r := range d.Replies {
			at := r.ReadyAt
			if at.IsZero() {
				at = r.CreatedAt
			}
			fmt.Fprintf(w, "  reply %s  %s  %s  %s", r.ID, at.Local().Format("2006-01-02 15:04"), humanBytes(r.Size), r.State)
			if r.State == relayapi.StateReady {
				fmt.Fprintf(w, "  sealprint open --reply %s", r.ID)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// goneState reports whether err says the relay no longer has the drop,
// and in what state.
func goneState(err error) (string, bool) {
	var ae *uploader.APIError
	if !errors.As(err, &ae) {
		return "", false
	}
	switch ae.Status {
	case http.StatusGone:
		if ae.State != "" {
			return ae.State, true
		}
		return relayapi.StateExpired, true
	case http.StatusNotFound:
		return "not found", true
	}
	return "", false
}

// findSentReply looks for reply id among the replies to the drops of the
// sent list (newest first) and returns its drop and ciphertext SHA-256.
func findSentReply(ctx context.Context, p *pc, id string) (drop, sum string, err error) {
	sent, err := readSent(p.home)
	if err != nil {
		return "", "", err
	}
	if len(sent) == 0 {
		return "", "", errNoReply
	}
	client, err := p.relayClient(true)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	for i := len(sent) - 1; i >= 0; i-- {
		if e := sent[i].ExpiresAt; !e.IsZero() && now.After(e.Add(sentKeep)) {
			continue // no reply outlives its drop by that long
		}
		list, err := client.Replies(ctx, sent[i].ID)
		if _, gone := goneState(err); gone {
			continue
		}
		if err != nil {
			return "", "", err
		}
		for _, r := range list {
			if r.ID == id {
				return sent[i].ID, r.SHA256, nil
			}
		}
	}
	return "", "", errNoReply
}

// errNoReply: no job or sent drop has the reply.
var errNoReply = errors.New("no such reply")
