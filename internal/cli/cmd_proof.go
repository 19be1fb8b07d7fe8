package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/render"
)

// maxProofFile bounds a proof read from disk.
const maxProofFile = 1 << 20

func runVerifyProof(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint verify-proof FILE [--audit-key FILE] [--recipient-cert FILE]... [--json]"
	fs := newFlags("verify-proof", usage+`

Checks a proof of delivery offline: its form (any changed byte is refused),
the relay's signature and the audit checkpoint it carries. --audit-key is
the relay's published audit key (sealrelay audit key, or
/.well-known/sealrelay/audit-key); without it, compare the key id printed
with the relay's. Each --recipient-cert is a recipient's public key: the
proof must name it, the encryption key the message was sealed to must be
one of its own, and every receipt it signed must verify.`, e.stderr)
	keyFile := fs.String("audit-key", "", "the relay's audit public key (JSON or base64)")
	var certs listFlag
	fs.Var(&certs, "recipient-cert", "a recipient's public key file (repeat) to check the proof's keys and signed receipts against")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	b, err := readBounded(pos[0], maxProofFile)
	if err != nil {
		return err
	}
	var want ed25519.PublicKey
	if *keyFile != "" {
		kb, err := readBounded(*keyFile, 4096)
		if err != nil {
			return err
		}
		if want, err = relay.ParseAuditPublicKey(kb); err != nil {
			return err
		}
	}
	p, pub, err := relay.VerifyProof(b, want)
	if err != nil {
		return err
	}
	checked, err := checkRecipientCerts(p, certs)
	if err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(e, map[string]any{"ok": true, "key_id": relay.AuditKeyID(pub), "key_checked": want != nil, "proof": p,
			"recipient_certs_checked": checked})
	}
	fmt.Fprintf(e.stdout, "proof of delivery valid: drop %s, signed by audit key %s\n", p.Drop, relay.AuditKeyID(pub))
	if want == nil {
		fmt.Fprintln(e.stdout, "  the key was not checked against the relay's: compare the key id with 'sealrelay audit key' or give --audit-key FILE")
	}
	fmt.Fprint(e.stdout, proofSummary(p))
	for _, c := range checked {
		fmt.Fprintln(e.stdout, c)
	}
	return nil
}

// checkRecipientCerts checks the proof against recipients' public keys:
// each must be named in the proof, the encryption key stated for it must
// be its own, and every receipt it signed must verify. It returns what
// was checked, in words.
func checkRecipientCerts(p *relay.Proof, files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		b, err := readBounded(f, 1<<20)
		if err != nil {
			return nil, err
		}
		keys, err := envelope.ReadKeys(bytes.NewReader(b))
		if err != nil || len(keys) != 1 {
			return nil, fmt.Errorf("--recipient-cert %s: want exactly one public key (%v)", f, err)
		}
		k := keys[0].Public()
		var stated *relayapi.RecipientKey
		for i := range p.RecipientKeys {
			if p.RecipientKeys[i].Fingerprint == k.Fingerprint() {
				stated = &p.RecipientKeys[i]
			}
		}
		if stated == nil {
			return nil, fmt.Errorf("%w: the proof does not name key %s (%s)", relay.ErrBadProof, k.Fingerprint(), f)
		}
		if !k.BindsEncryptionKey(stated.EncryptionKey, p.CreatedAt) {
			return nil, fmt.Errorf("%w: encryption key %s is not an encryption key of %s", relay.ErrBadProof, stated.EncryptionKey, k.Fingerprint())
		}
		out = append(out, fmt.Sprintf("recipient key %s: the message was sealed to its encryption key %s", k.Fingerprint(), stated.EncryptionKey))
		for _, r := range p.SignedReceipts {
			if r.Signer != k.Fingerprint() {
				continue
			}
			if err := envelope.VerifyReceipt(k, relayapi.ReceiptStatement(p.Drop, p.SHA256, r.SignedAt), r.Signature); err != nil {
				return nil, fmt.Errorf("%w: the receipt of %s: %v", relay.ErrBadProof, r.At.UTC().Format(time.RFC3339), err)
			}
			out = append(out, fmt.Sprintf("  receipt of %s signed by it: signature verified", r.At.UTC().Format(time.RFC3339)))
		}
	}
	return out, nil
}

// proofSummary is the human text of a proof (also the PDF's content).
func proofSummary(p *relay.Proof) string {
	var b strings.Builder
	when := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
	fmt.Fprintf(&b, "Drop / dépôt:        %s\n", p.Drop)
	if p.Relay != "" {
		fmt.Fprintf(&b, "Relay / relais:      %s\n", p.Relay)
	}
	fmt.Fprintf(&b, "Sealed document:     sha256 %s (%d bytes)\n", p.SHA256, p.Size)
	fmt.Fprintf(&b, "Sender / expéditeur: %s", p.Sender)
	if p.SenderFingerprint != "" {
		fmt.Fprintf(&b, " (key %s)", p.SenderFingerprint)
	}
	b.WriteString("\n")
	if len(p.Recipients) > 0 {
		fmt.Fprintf(&b, "Recipients:          %s\n", strings.Join(p.Recipients, ", "))
	}
	for _, k := range p.RecipientKeys {
		who := k.Address
		if who == "" {
			who = "(no address: archive key)"
		}
		fmt.Fprintf(&b, "Encrypted to / chiffré pour: %s\n  key %s\n  encryption key %s\n", who, k.Fingerprint, k.EncryptionKey)
	}
	if len(p.RecipientKeys) == 0 {
		b.WriteString("Encrypted to:        (keys not stated by the sender's client)\n")
	}
	fmt.Fprintf(&b, "Created / créé:      %s\n", when(p.CreatedAt))
	if p.UploadedAt != nil {
		fmt.Fprintf(&b, "Uploaded / déposé:   %s\n", when(*p.UploadedAt))
	}
	for _, t := range p.Downloads {
		fmt.Fprintf(&b, "Downloaded / retiré: %s\n", when(t))
	}
	for _, t := range p.Receipts {
		fmt.Fprintf(&b, "Receipt / accusé:    %s\n", when(t))
	}
	for _, r := range p.SignedReceipts {
		fmt.Fprintf(&b, "  receipt of %s signed by key / accusé signé par la clé %s (opened at %s)\n", when(r.At), r.Signer, when(r.SignedAt))
	}
	for _, r := range p.Replies {
		fmt.Fprintf(&b, "Reply / réponse:     %s, %s, sha256 %s (%d bytes)\n", r.ID, when(r.CreatedAt), r.SHA256, r.Size)
	}
	fmt.Fprintf(&b, "State / état:        %s\n", p.State)
	if p.Checkpoint != nil {
		fmt.Fprintf(&b, "Audit checkpoint:    line %d, head %s, %s\n", p.Checkpoint.Seq, p.Checkpoint.Head, when(p.Checkpoint.At))
	}
	return b.String()
}

func runJobProof(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint jobs proof JOB [-o FILE]"
	fs := newFlags("jobs proof", usage+`

Fetches the relay's signed proof of delivery of a job, checks it against the
audit checkpoints the job kept, and writes it (JSON, default proof-JOB.json)
with a one-page PDF rendering next to it (same name, .pdf).`, e.stderr)
	out := fs.String("o", "", "output file")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	id := pos[0]
	var job *jobRecord
	err = withJobs(ctx, e, func(c jobController) error {
		jobs, err := c.List(ctx)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.ID == id {
				job = &jobRecord{dropID: j.DropID, checkpoints: j.Checkpoints}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if job == nil {
		return fmt.Errorf("no job %s", id)
	}
	if job.dropID == "" {
		return fmt.Errorf("job %s has not reached the relay yet: no proof of delivery", id)
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	client, err := p.relayClient(true)
	if err != nil {
		return err
	}
	b, err := client.Proof(ctx, job.dropID)
	if err != nil {
		return err
	}
	// Canonical form: the relay sends the file as signed.
	var compact, canon bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return err
	}
	if err := json.Indent(&canon, compact.Bytes(), "", "  "); err != nil {
		return err
	}
	canon.WriteByte('\n')
	proof, pub, err := relay.VerifyProof(canon.Bytes(), nil)
	if err != nil {
		return err
	}
	if err := checkWitnessed(proof, pub, job.checkpoints); err != nil {
		return err
	}
	dest := *out
	if dest == "" {
		dest = "proof-" + id + ".json"
	}
	if err := atomicfile.WriteFile(dest, canon.Bytes(), 0o644); err != nil {
		return err
	}
	pdf := strings.TrimSuffix(dest, ".json") + ".pdf"
	if err := writeProofPDF(ctx, pdf, proof, pub); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "proof of delivery: %s (PDF: %s), audit key %s\n", dest, pdf, relay.AuditKeyID(pub))
	return nil
}

// jobRecord is what 'jobs proof' needs of a job.
type jobRecord struct {
	dropID      string
	checkpoints []json.RawMessage
}

// checkWitnessed checks the checkpoints a job kept against a proof: each
// must be signed by the proof's key, and one at the proof's own sequence
// must be the same.
func checkWitnessed(p *relay.Proof, pub ed25519.PublicKey, kept []json.RawMessage) error {
	for _, raw := range kept {
		var c relay.Checkpoint
		if err := json.Unmarshal(raw, &c); err != nil {
			continue
		}
		if err := c.Verify(pub); err != nil {
			return fmt.Errorf("the relay's proof contradicts a checkpoint this PC kept: %w", err)
		}
		if p.Checkpoint != nil && c.Seq == p.Checkpoint.Seq && c.Head != p.Checkpoint.Head {
			return errors.New("the relay's proof contradicts a checkpoint this PC kept: its audit history was rewritten")
		}
	}
	return nil
}

// writeProofPDF renders the proof's summary on one page.
func writeProofPDF(ctx context.Context, path string, p *relay.Proof, pub ed25519.PublicKey) error {
	var text strings.Builder
	text.WriteString("PREUVE DE REMISE / PROOF OF DELIVERY\n\n")
	text.WriteString(proofSummary(p))
	fmt.Fprintf(&text, "\nSigned by the relay's audit key %s.\n", relay.AuditKeyID(pub))
	text.WriteString("This page is a rendering: the signed JSON file is the proof.\n")
	text.WriteString("Check it with: sealprint verify-proof FILE --audit-key KEY\n")
	var buf bytes.Buffer
	if _, err := render.ToPDF(ctx, "text/plain; charset=utf-8", strings.NewReader(text.String()), &buf,
		render.Meta{Title: "Proof of delivery " + p.Drop, Created: p.IssuedAt}); err != nil {
		return fmt.Errorf("proof PDF: %w", err)
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}
