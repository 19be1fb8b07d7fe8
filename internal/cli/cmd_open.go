package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/pdfsign"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/uploader"
)

// openResult is what 'sealprint open --json' prints.
type openResult struct {
	Output            string `json:"output"`
	FileName          string `json:"file_name"`
	Size              int64  `json:"size"`
	SHA256            string `json:"sha256"`
	Verified          bool   `json:"verified"`
	Signer            string `json:"signer,omitempty"`
	SignerFingerprint string `json:"signer_fingerprint,omitempty"`
	SignerKnown       bool   `json:"signer_in_address_book"`
	ReceiptSent       bool   `json:"receipt_sent"`
	// ReceiptSigned is true when the receipt was signed with the key that
	// opened the document (key mode): the sender sees who opened it.
	ReceiptSigned bool `json:"receipt_signed"`
	// IntendedRecipients are the fingerprints the signature names as
	// recipients; AddressedToYou is false when the key that opened the
	// document is not among them (someone passed it on).
	IntendedRecipients []string `json:"intended_recipients,omitempty"`
	AddressedToYou     bool     `json:"addressed_to_you"`
	// SignatureValid: the signature verified (a bad or missing one is
	// refused before anything is written). IdentityVerified: someone
	// vouches that the signer is who the key's user ID says; IdentitySource
	// says who: "address_book" (your own pin or IT's), "relay" (the
	// relay's organisation, IdentityOrg, verified the sender's bound key)
	// or "none" (compare the fingerprint by phone).
	SignatureValid   bool   `json:"signature_valid"`
	IdentityVerified bool   `json:"identity_verified"`
	IdentitySource   string `json:"identity_source"`
	IdentityOrg      string `json:"identity_org,omitempty"`
	// WKD is what the Web Key Directory of the signer's own domain says
	// of the signer's key: "match", "other_key", "no_key" or
	// "unreachable" ("" when not checked).
	WKD string `json:"wkd,omitempty"`
	// PDFSignature is the check of the PAdES signatures inside the PDF
	// (absent when the document is not a PDF).
	PDFSignature *pdfSignatureResult `json:"pdf_signature,omitempty"`
}

// pdfSignatureResult is the PDF signature part of 'open --json'.
type pdfSignatureResult struct {
	Valid bool `json:"valid"`
	*pdfsign.Report
}

func runOpen(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint open FILE|LINK [-o OUT] [--code CODE] [--force] [--ca ROOTS.pem] [--json] | open --reply ID [--drop DROP] [-o DIR]"
	fs := newFlags("open", usage+`

Decrypts a sealed file, or downloads and decrypts a relay link, and checks
the signature. The document is written only if it decrypted whole and the
signature verified: a damaged or forged document is never left behind.
Until then it stays in a private folder of your cache dir; with -o - it is
written to standard output only after verification, up to 1 GiB.

--reply ID fetches a recipient's secure reply to one of your jobs or of
the drops you made with 'sealprint send' (the ids 'sealprint jobs' and
'sealprint replies' list; --drop DROP names the drop it answers), decrypts it with your key and writes its files
(and message.txt) into -o DIR (default reply-ID), reporting the
recipient's signature when there is one.`, e.stderr)
	out := fs.String("o", "", "output file (default: the name chosen by the sender, in the current directory; - for stdout)")
	code := fs.String("code", "", "access code, if the sender set one")
	force := fs.Bool("force", false, "overwrite an existing output file")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	noWKD := fs.Bool("no-wkd", false, "do not ask the signer's domain (WKD) for its key")
	caFile := fs.String("ca", "", "PEM file of extra roots trusted for the PDF's signature (e.g. IGC-Santé)")
	replyID := fs.String("reply", "", "open the secure reply ID to one of your jobs or sent drops")
	replyDrop := fs.String("drop", "", "with --reply: the drop the reply answers (default: looked up)")
	pos, err := parsePositional(fs, args, 0, 1, usage)
	if err != nil {
		return err
	}
	if *replyID != "" {
		if len(pos) > 0 || *out == "-" {
			return usageError("--reply ID takes no FILE or LINK, and -o names a directory")
		}
		return openReply(ctx, e, *replyID, *replyDrop, *out, *force, *jsonOut)
	}
	if *replyDrop != "" {
		return usageError("--drop goes with --reply ID")
	}
	if len(pos) == 0 {
		return usageError("usage: %s", usage)
	}
	p, err := openPC(e)
	if err != nil {
		return err
	}
	opts := envelope.OpenOptions{Verifiers: p.verifiers()}
	if opts.Keys, err = p.ownKeys(); err != nil {
		return err
	}
	// Everything unverified (downloaded ciphertext, decrypted plaintext)
	// stays in a private 0700 dir in the user's cache until the MDC and the
	// signature check out; the dir goes on any error, and a killed run's dir
	// is swept by the next run.
	priv, err := newPrivateDir(p.home)
	if err != nil {
		return err
	}
	defer priv.remove()
	if *out != "" && *out != "-" {
		if err := checkOutput(*out, *force); err != nil {
			return err
		}
	}
	var src io.Reader
	var relayKey *envelope.Key
	var fetched *downloaded
	target := pos[0]
	if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") {
		dl, err := p.download(ctx, target, *code, priv)
		if err != nil {
			return err
		}
		defer dl.file.Close()
		src, opts.Secret, relayKey, fetched = dl.file, dl.secret, dl.senderKey, dl
		if relayKey != nil {
			opts.Verifiers = append(opts.Verifiers, relayKey)
		}
	} else {
		f, err := openInput(e, target)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	if len(opts.Keys) == 0 && opts.Secret == "" {
		return errors.New("no key to open this: import your secret key with 'sealprint keys import FILE', or use the full link with its #secret")
	}
	src, err = dearmor(src)
	if err != nil {
		return err
	}

	res := openResult{}
	h := sha256.New()
	plain, err := priv.create("plain")
	if err != nil {
		return err
	}
	defer plain.Close()
	var sink io.Writer = plain
	if *out == "-" {
		sink = &capWriter{w: plain, n: stdoutCap}
	}
	msg, err := envelope.Open(src, io.MultiWriter(sink, h), opts)
	if err != nil {
		return err
	}
	// The PDF's own signature is checked on the verified private copy,
	// before it goes anywhere (a FIFO or a device cannot be read back).
	vopts, err := verifyOptions(*caFile)
	if err != nil {
		return err
	}
	if res.PDFSignature, err = checkPDFSignature(plain, vopts); err != nil {
		return err
	}
	if *out == "-" {
		if _, err := plain.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(e.stdout, plain); err != nil {
			return fmt.Errorf("write to standard output: %w", err)
		}
		res.Output = "-"
	} else {
		dest := *out
		if dest == "" {
			if dest = envelope.SafeFileName(msg.FileName); dest == "" {
				dest = "document.pdf"
			}
		}
		if err := placeVerified(plain, dest, *force); err != nil {
			return err
		}
		res.Output = dest
	}
	res.FileName, res.Size = msg.FileName, msg.Size
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	res.Verified = msg.Verified
	res.IntendedRecipients, res.AddressedToYou = msg.IntendedRecipients, !msg.NotAddressedToYou
	if msg.Signer != nil {
		res.Signer, res.SignerFingerprint = msg.Signer.Identity(), msg.Signer.Fingerprint()
		res.SignerKnown = relayKey == nil || relayKey.Fingerprint() != msg.Signer.Fingerprint() || p.inAddressBook(msg.Signer)
		res.SignatureValid = msg.Verified
		res.IdentitySource = "none"
		switch {
		case p.inAddressBook(msg.Signer):
			res.IdentityVerified, res.IdentitySource = true, "address_book"
		case fetched != nil && fetched.vouched && fetched.senderFPR == msg.Signer.Fingerprint():
			res.IdentityVerified, res.IdentitySource, res.IdentityOrg = true, "relay", fetched.org
		}
		if !*noWKD {
			res.WKD = p.checkWKD(ctx, msg.Signer)
		}
	}
	if fetched != nil && len(msg.SessionKey) > 0 {
		// Tell the sender, with a proof only a decrypting recipient can
		// make; a failure here does not undo the opening.
		req := relayapi.ReceiptRequest{Proof: envelope.ReceiptProof(msg.SessionKey, fetched.sha256), Token: fetched.receiptToken}
		// In key mode the receipt is signed with the key that opened the
		// document, so the sender knows which recipient opened it.
		if k := keyWithFingerprint(opts.Keys, msg.OpenedWith); k != nil {
			now := time.Now().UTC().Truncate(time.Second)
			if sig, err := envelope.SignReceipt(k, relayapi.ReceiptStatement(fetched.id, fetched.sha256, now), now); err == nil {
				req.Signer, req.Signature, req.SignedAt = k.Fingerprint(), sig, now
			}
		}
		// In link mode its second HMAC is keyed from the link's secret:
		// when each recipient has its own, the sender knows whose link
		// opened the document.
		if msg.Symmetric && opts.Secret != "" {
			req.LinkProof = envelope.LinkReceiptProof(opts.Secret, fetched.sha256)
		}
		err := fetched.client.PostSignedReceipt(ctx, fetched.id, req)
		var ae *uploader.APIError
		if req.LinkProof != "" && errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			// A relay from before link proofs refuses the field: the
			// receipt alone still says "opened".
			req.LinkProof = ""
			err = fetched.client.PostSignedReceipt(ctx, fetched.id, req)
		}
		if err == nil {
			res.ReceiptSent, res.ReceiptSigned = true, req.Signer != ""
		}
	}
	if *jsonOut {
		return writeJSON(e, res)
	}
	w := e.stderr
	if *out != "-" {
		w = e.stdout
	}
	switch res.IdentitySource {
	case "relay":
		fmt.Fprintf(w, "Good signature from %s\n  identity verified by %s / identité vérifiée par %s\n  fingerprint %s\n", res.Signer, res.IdentityOrg, res.IdentityOrg, res.SignerFingerprint)
	case "address_book":
		fmt.Fprintf(w, "Good signature from %s\n  key in your address book\n  fingerprint %s\n", res.Signer, res.SignerFingerprint)
	default:
		fmt.Fprintf(w, "Good signature from %s — identity NOT verified\n  signature valide, identité non vérifiée : comparez l'empreinte avec l'expéditeur (par téléphone)\n  fingerprint %s\n", res.Signer, res.SignerFingerprint)
	}
	switch res.WKD {
	case "match":
		fmt.Fprintln(w, "  the signer's domain publishes this key (WKD) / le domaine de l'expéditeur publie cette clé")
	case "other_key":
		fmt.Fprintln(w, "  WARNING: the signer's domain publishes ANOTHER key for this address (WKD) / le domaine publie une AUTRE clé")
	}
	if !res.AddressedToYou {
		fmt.Fprintf(w, "WARNING: this document was addressed to %s, not to you: someone passed it on\n", p.describeKeys(res.IntendedRecipients))
		fmt.Fprintf(w, "ATTENTION : ce document était adressé à %s, pas à vous : quelqu'un vous l'a transmis\n", p.describeKeys(res.IntendedRecipients))
	}
	fmt.Fprintf(w, "sha256:  %s\n", res.SHA256)
	if res.Output != "-" {
		fmt.Fprintf(w, "saved:   %s (%s)\n", res.Output, humanBytes(res.Size))
	}
	if res.ReceiptSent {
		fmt.Fprintln(w, "receipt: the sender is told the document was opened")
	}
	if ps := res.PDFSignature; ps != nil {
		fmt.Fprintf(w, "PDF signature: %s\n", summarizePDFReport(ps.Report))
	}
	return nil
}

// describeKeys names fingerprints, with the identity the address book
// holds for each one it knows.
func (p *pc) describeKeys(fprs []string) string {
	var out []string
	for _, f := range fprs {
		if found, _ := p.keys.Find(f); len(found) == 1 {
			out = append(out, fmt.Sprintf("%s (%s)", found[0].Identity(), f))
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, ", ")
}

// inAddressBook reports whether k is in the address book.
func (p *pc) inAddressBook(k *envelope.Key) bool {
	found, _ := p.keys.Find(k.Fingerprint())
	if len(found) > 0 {
		return true
	}
	own, err := p.keys.SenderPublic()
	return err == nil && own.Fingerprint() == k.Fingerprint()
}

// download fetches a link's ciphertext into a temporary file (ciphertext
// only) and returns it with the link secret and the sender key the relay
// holds for the drop.
// downloaded is a link's ciphertext fetched into a temporary file.
type downloaded struct {
	file      *os.File
	secret    string
	senderKey *envelope.Key
	// senderFPR, vouched and org: what the relay says of the drop's
	// sender (vouched: the relay's organisation verified that key).
	senderFPR string
	vouched   bool
	org       string
	id        string
	sha256    string
	client    *uploader.Client
	// receiptToken is the download's one-time token for the receipt.
	receiptToken string
}

func (p *pc) download(ctx context.Context, link, code string, priv *privateDir) (*downloaded, error) {
	base, id, secret, err := relayapi.ParseLink(link)
	if err != nil {
		return nil, err
	}
	if secret != "" && !envelope.ValidLinkSecret(secret) {
		return nil, errors.New("the link's #secret is damaged: copy the whole link")
	}
	client, err := p.clientFor(base.String(), "")
	if err != nil {
		return nil, err
	}
	info, err := client.Info(ctx, id)
	if err != nil {
		return nil, err
	}
	var senderKey *envelope.Key
	if info.SenderKey != "" {
		if keys, err := envelope.ReadKeys(strings.NewReader(info.SenderKey)); err == nil {
			senderKey = keys[0].Public()
		}
	}
	grant := ""
	if info.NeedsCode {
		if code == "" {
			return nil, errors.New("this document needs the access code the sender gave you: add --code CODE")
		}
		if grant, err = client.SubmitCode(ctx, id, code); err != nil {
			return nil, err
		}
	}
	f, err := priv.create("download.pgp")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	got, err := client.DownloadDrop(ctx, id, grant, io.MultiWriter(f, h))
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &downloaded{file: f, secret: secret, senderKey: senderKey, id: id,
		senderFPR: info.SenderFingerprint, vouched: info.SenderVerified, org: info.SenderOrg,
		sha256: hex.EncodeToString(h.Sum(nil)), client: client, receiptToken: got.ReceiptToken}, nil
}

// dearmor unwraps an ASCII-armored message, or passes binary through.
func dearmor(r io.Reader) (io.Reader, error) {
	head := make([]byte, 64)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	head = head[:n]
	full := io.MultiReader(bytes.NewReader(head), r)
	if bytes.Contains(head, []byte("-----BEGIN PGP MESSAGE")) {
		return armorBody(full)
	}
	return full, nil
}

// wkdTimeout bounds the check of the signer's key at its own domain.
const wkdTimeout = 5 * time.Second

// checkWKD asks the Web Key Directory of the signer's domain which key it
// publishes for the signer's address.
func (p *pc) checkWKD(ctx context.Context, signer *envelope.Key) string {
	emails := signer.Emails()
	if len(emails) == 0 {
		return ""
	}
	_, domain, _ := strings.Cut(keyserver.NormalizeEmail(emails[0]), "@")
	if domain == "" {
		return ""
	}
	c, err := p.clientFor("https://openpgpkey."+domain, "")
	if err != nil {
		return "unreachable"
	}
	ctx, cancel := context.WithTimeout(ctx, wkdTimeout)
	defer cancel()
	armored, _, err := keyserver.Lookup(ctx, c.HTTPClient(), "", emails[0])
	switch {
	case errors.Is(err, keyserver.ErrNoKey):
		return "no_key"
	case err != nil:
		return "unreachable"
	}
	keys, err := envelope.ReadKeys(strings.NewReader(string(armored)))
	if err != nil || len(keys) == 0 {
		return "unreachable"
	}
	if keys[0].Fingerprint() == signer.Fingerprint() {
		return "match"
	}
	return "other_key"
}

// keyWithFingerprint returns the key of keys with fingerprint fpr, or nil.
func keyWithFingerprint(keys []*envelope.Key, fpr string) *envelope.Key {
	if fpr == "" {
		return nil
	}
	for _, k := range keys {
		if k.Fingerprint() == fpr {
			return k
		}
	}
	return nil
}
