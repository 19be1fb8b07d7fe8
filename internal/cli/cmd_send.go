package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/keystore"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

// sendResult is what 'sealprint send --json' prints.
type sendResult struct {
	ID string `json:"id"`
	// Link is the full link (with its secret) when there is one; in link
	// mode to several recipients, the drop's link without a secret, and
	// Links gives each recipient its own.
	Link       string          `json:"link"`
	Links      []recipientLink `json:"links,omitempty"`
	Mode       string          `json:"mode"`
	Code       string          `json:"code,omitempty"`
	CodeSentTo string          `json:"code_sent_to,omitempty"`
	SHA256     string          `json:"sha256"`
	Size       int64           `json:"size"`
	Recipients []string        `json:"recipients"`
	ExpiresAt  time.Time       `json:"expires_at"`
}

// recipientLink is one recipient's own link (link mode).
type recipientLink struct {
	Recipient string `json:"recipient"`
	Link      string `json:"link"`
}

func runSend(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint send FILE --to EMAIL [--to …] [--link [--code [--code-to sms:+33…|mail:ADDRESS]]] [--expires 7d] [--max-downloads N] [--json]"
	fs := newFlags("send", usage+`

Seals FILE (signed with your key) and uploads it to the relay, then prints
the download link and the document's SHA-256. Key mode (default) encrypts
to each recipient's key; --link encrypts to a random secret carried only in
the link's #fragment, for recipients without a key: each --to gets a link of
its own (one secret each, one document), so that the sender's receipts say
who opened; the access code is one for the drop.`, e.stderr)
	var to listFlag
	fs.Var(&to, "to", "recipient email or fingerprint (repeatable; comma-separated lists work too)")
	var toFile listFlag
	fs.Var(&toFile, "to-file", "recipient's public key file (repeatable)")
	var acceptNew listFlag
	fs.Var(&acceptNew, "accept-new-key", "fingerprint confirmed with a recipient written to for the first time (repeatable)")
	link := fs.Bool("link", false, "link mode: anyone with the full link can open the document")
	code := fs.Bool("code", false, "with --link: also require an access code, printed here, to pass by phone or SMS")
	codeTo := fs.String("code-to", "", "with --code: the relay sends the code by sms:+33612345678 or mail:ADDRESS (not a --to address), then forgets it")
	expires := fs.String("expires", "7d", "time until the relay deletes the document (max 30d)")
	maxDownloads := fs.Int("max-downloads", -1, "downloads allowed (0: no limit; default: the relay's, 5)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	profile := fs.String("profile", "compat", "compat or rfc9580")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	if !*link && len(to) == 0 && len(toFile) == 0 {
		return usageError("send needs --to EMAIL (or --link for a recipient without a key)")
	}
	if *code && !*link {
		return usageError("--code goes with --link (key mode needs no code)")
	}
	if *codeTo != "" {
		if !*code {
			return usageError("--code-to goes with --code")
		}
		if err := (spooler.SendOptions{Mode: spooler.ModeLink, Code: true, CodeTo: *codeTo}).Check(); err != nil {
			return usageError("--code-to: %v", err)
		}
	}
	ttl, err := parseDuration(*expires)
	if err != nil {
		return usageError("--expires: %v", err)
	}
	prof, ok := envelope.ParseProfile(*profile)
	if !ok {
		return usageError("unknown --profile %q", *profile)
	}
	for _, r := range to {
		if !strings.Contains(r, "@") && *link {
			return usageError("--to %q: in link mode, recipients are email addresses", r)
		}
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	p.acceptNew, p.confirm = acceptNew, terminalConfirm(e)
	client, err := p.relayClient(true)
	if err != nil {
		return err
	}
	signer, err := p.senderKey()
	if err != nil {
		return err
	}
	req := relayapi.CreateDropRequest{Mode: "key", ExpiresInSeconds: int64(ttl / time.Second), Notify: !*link}
	var recipients []*envelope.Key
	var secrets []string
	if *link {
		req.Mode = "link"
		req.Recipients = dedupe(lowerAll(to))
		// One secret per recipient (one for a link to no one named).
		for range max(1, len(req.Recipients)) {
			s, err := envelope.NewLinkSecret()
			if err != nil {
				return err
			}
			secrets = append(secrets, s)
		}
	} else {
		if recipients, err = p.resolveAll(to, toFile...); err != nil {
			return err
		}
		for _, k := range recipients {
			req.Recipients = append(req.Recipients, recipientAddress(k, to))
		}
	}
	if *maxDownloads >= 0 {
		req.MaxDownloads = maxDownloads
	}
	var accessCode string
	if *code {
		if accessCode, err = newAccessCode(); err != nil {
			return err
		}
		req.AccessCode = accessCode
	}
	var pub strings.Builder
	if err := signer.Public().WritePublic(&pub, true); err != nil {
		return err
	}
	req.SenderKey = pub.String()

	in, err := openInput(e, pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	sealed, docSum, sealedKeys, sessionKey, err := p.sealToTemp(in, signer, recipients, secrets, filepath.Base(pos[0]), prof)
	if err != nil {
		return err
	}
	// Whoever decrypts the drop may reply to the sender's key, as for the
	// drops the service delivers; the relay keeps only this verifier.
	req.ReplyVerifier = envelope.ReplyVerifier(sessionKey)
	// The relay checks these against the message and names them in the
	// proof of delivery.
	for i, k := range sealedKeys {
		rk := relayapi.RecipientKey{Fingerprint: k.Fingerprint, EncryptionKey: k.EncryptionKey}
		if i < len(req.Recipients) && strings.Contains(req.Recipients[i], "@") {
			rk.Address = req.Recipients[i]
		}
		req.RecipientKeys = append(req.RecipientKeys, rk)
	}
	defer func() {
		sealed.Close()
		os.Remove(sealed.Name())
	}()
	st, err := sealed.Stat()
	if err != nil {
		return err
	}
	req.Size = st.Size()

	var progress func(sent, total int64)
	var bar *uploader.Progress
	if !*jsonOut {
		bar = uploader.NewProgress(e.stderr, req.Size, isTerminal(e.stderr))
		progress = bar.Update
	}
	drop, err := client.Send(ctx, req, sealed, progress)
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", pos[0], err)
	}
	var codeSent string
	if *codeTo != "" {
		sent, err := client.SendCode(ctx, drop.ID, accessCode, *codeTo)
		if err != nil {
			fmt.Fprintf(e.stderr, "sealprint: the document is sent, but the relay could not send the code: %v\n", err)
		} else {
			codeSent = sent.SentVia + ":" + sent.To
		}
	}
	res := sendResult{ID: drop.ID, Link: drop.Link, Mode: req.Mode, Code: accessCode, CodeSentTo: codeSent, SHA256: docSum,
		Size: req.Size, Recipients: req.Recipients, ExpiresAt: drop.ExpiresAt}
	if res.Recipients == nil {
		res.Recipients = []string{}
	}
	switch {
	case len(secrets) == 1:
		res.Link += "#" + secrets[0]
	case len(secrets) > 1:
		for i, r := range req.Recipients {
			res.Links = append(res.Links, recipientLink{Recipient: r, Link: drop.Link + "#" + secrets[i]})
		}
	}
	// Kept (without the link's secret) so that 'sealprint replies' finds
	// the recipients' replies to this drop.
	if err := recordSent(p.home, sentDrop{ID: drop.ID, File: filepath.Base(pos[0]), Mode: req.Mode, Recipients: res.Recipients,
		SentAt: time.Now().UTC(), ExpiresAt: drop.ExpiresAt}, time.Now()); err != nil {
		fmt.Fprintf(e.stderr, "sealprint: the document is sent, but it is not in your list of sent drops (%v): see its replies with 'sealprint replies %s'\n", err, drop.ID)
	}
	if *jsonOut {
		return writeJSON(e, res)
	}
	if len(res.Links) == 0 {
		fmt.Fprintf(e.stdout, "link:    %s\n", res.Link)
	}
	for _, l := range res.Links {
		fmt.Fprintf(e.stdout, "link:    %s  (for %s only)\n", l.Link, l.Recipient)
	}
	if accessCode != "" {
		if codeSent != "" {
			fmt.Fprintf(e.stdout, "code:    %s   (sent by the relay to %s)\n", accessCode, codeSent)
		} else {
			fmt.Fprintf(e.stdout, "code:    %s   (give it to the recipient by another channel: phone, SMS)\n", accessCode)
		}
	}
	fmt.Fprintf(e.stdout, "sha256:  %s\n", docSum)
	if !drop.ExpiresAt.IsZero() {
		fmt.Fprintf(e.stdout, "expires: %s\n", drop.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	}
	if len(res.Links) > 0 {
		fmt.Fprintln(e.stdout, "Each link itself opens the document: send each only to its recipient.")
	} else if *link {
		fmt.Fprintln(e.stdout, "The link itself opens the document: send it only to the recipient.")
	}
	fmt.Fprintf(e.stdout, "replies: sealprint replies %s\n", drop.ID)
	return nil
}

// sealToTemp seals in into a temporary file of ciphertext under the home
// directory and returns it rewound, with the SHA-256 of the plaintext, the
// sealed keys and the session key. Plaintext never touches the disk.
func (p *pc) sealToTemp(in io.Reader, signer *envelope.Key, to []*envelope.Key, secrets []string, name string, prof envelope.Profile) (*os.File, string, []envelope.SealedKey, []byte, error) {
	dir := filepath.Join(p.home, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", nil, nil, err
	}
	f, err := os.CreateTemp(dir, "sealed-*.pgp")
	if err != nil {
		return nil, "", nil, nil, err
	}
	h := sha256.New()
	keys, sk, err := sealStream(f, io.TeeReader(in, h), signer, to, secrets, name, prof)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", nil, nil, err
	}
	return f, hex.EncodeToString(h.Sum(nil)), keys, sk, nil
}

// relayClient builds the relay client from the config; needToken requires
// an enrolment token (senders).
func (p *pc) relayClient(needToken bool) (*uploader.Client, error) {
	if p.cfg.Relay == "" {
		return nil, errors.New("no relay configured: run 'sealprint enroll --relay URL --token TOKEN' (or set SEALPRINT_RELAY)")
	}
	if needToken && p.cfg.Token == "" {
		return nil, errors.New("no enrolment token: run 'sealprint enroll --token TOKEN' (or set SEALPRINT_TOKEN)")
	}
	return p.clientFor(p.cfg.Relay, p.cfg.Token)
}

// clientFor builds a client of any relay with this PC's network settings.
func (p *pc) clientFor(relayURL, token string) (*uploader.Client, error) {
	opts := uploader.Options{Proxy: p.cfg.Proxy, PAC: p.cfg.PAC, CA: p.cfg.CA, Getenv: p.getenv}
	creds, err := proxyCredentials(p.cfg, p.keys)
	if err != nil {
		return nil, err
	}
	opts.ProxyCredentials = creds
	return uploader.New(relayURL, token, opts)
}

// proxyCredentials returns the configured proxy user with the password
// from the secret store, or nil when no proxy user is configured.
func proxyCredentials(cfg *config.Config, ks *keystore.Store) (*uploader.Credentials, error) {
	if cfg.ProxyUser == "" {
		return nil, nil
	}
	pw, err := ks.Secrets().Get(proxyPasswordSecret)
	if err != nil {
		return nil, fmt.Errorf("proxy password for %s: %w (run 'sealprint enroll --proxy-user USER' again)", cfg.ProxyUser, err)
	}
	return &uploader.Credentials{User: cfg.ProxyUser, Password: string(pw)}, nil
}

// recipientAddress picks the address a key was asked for (--to), else its
// first email.
func recipientAddress(k *envelope.Key, asked []string) string {
	for _, a := range asked {
		if k.HasEmail(a) {
			return strings.ToLower(a)
		}
	}
	if emails := k.Emails(); len(emails) > 0 {
		return emails[0]
	}
	return k.Fingerprint()
}

// dedupe drops repeated values, keeping the first of each.
func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

// newAccessCode returns 8 random decimal digits.
func newAccessCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%08d", n.Int64()), nil
}

// isTerminal reports whether w is a terminal (progress bar vs plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
