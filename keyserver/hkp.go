package keyserver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// writeArmored writes binary key data as one armored public key block.
func writeArmored(w io.Writer, data []byte) error {
	aw, err := armor.Encode(w, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		return err
	}
	if _, err := aw.Write(data); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// hkpLookup serves GET /pks/lookup?op=get|index&search=… for gpg and other
// HKP clients. A fingerprint or key ID ("0x…") finds identity-free parts
// and verified user IDs; an address finds only a verified key.
func (h *Handler) hkpLookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("search"))
	op := q.Get("op")
	if op != "get" && op != "index" && op != "vindex" {
		http.Error(w, "unsupported operation", http.StatusNotImplemented)
		return
	}
	var fprs []string
	var err error
	onlyVerified := false
	ctx := r.Context()
	if email := NormalizeEmail(strings.Trim(search, "<>")); email != "" {
		fprs, err = h.dir.store.ByEmail(ctx, email)
		onlyVerified = true
	} else {
		id := normalizeHex(search)
		switch {
		case hexFingerprint.MatchString(id), hexKeyID.MatchString(id):
			fprs, err = h.dir.store.ByKeyID(ctx, id)
		default:
			http.Error(w, "search by fingerprint, key ID (0x…) or exact email address", http.StatusBadRequest)
			return
		}
	}
	if err != nil {
		h.internalError(w, "hkp lookup", err)
		return
	}
	if op == "get" {
		h.serveKeys(w, r, fprs, onlyVerified)
		return
	}
	h.hkpIndex(w, r, fprs, onlyVerified)
}

// hkpIndex writes the machine-readable index (draft-shaw-openpgp-hkp §5.2).
func (h *Handler) hkpIndex(w http.ResponseWriter, r *http.Request, fprs []string, onlyVerified bool) {
	var b bytes.Buffer
	n := 0
	for _, f := range fprs {
		c, publish, err := h.dir.published(r.Context(), f)
		if err != nil || (onlyVerified && !hasPublished(c, publish)) {
			continue
		}
		n++
		flags := ""
		if c.Revoked() {
			flags = "r"
		}
		fmt.Fprintf(&b, "pub:%s:%d::%d::%s\n", c.Fingerprint(), c.pub.PubKeyAlgo, c.pub.CreationTime.Unix(), flags)
		for _, u := range c.userIDs {
			if u.email != "" && publish(u.email) {
				fmt.Fprintf(&b, "uid:%s:::\n", url.PathEscape(u.id))
			}
		}
	}
	if n == 0 {
		http.Error(w, notFoundMsg, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "info:1:%d\n", n)
	w.Write(b.Bytes())
}

// hkpAdd serves POST /pks/add (keytext=…, as gpg --send-keys sends). New
// keys are stored unpublished and, when mail is configured, a verification
// link goes to each address not yet published (within the rate limits).
func (h *Handler) hkpAdd(w http.ResponseWriter, r *http.Request) {
	if !h.clientAllowed(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 3*MaxKeyBytes+4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "request too large or malformed", http.StatusRequestEntityTooLarge)
		return
	}
	certs, err := ParseCerts(strings.NewReader(r.PostForm.Get("keytext")))
	if err != nil {
		code := http.StatusUnprocessableEntity
		if isTooLarge(err) {
			code = http.StatusRequestEntityTooLarge
		}
		http.Error(w, err.Error(), code)
		return
	}
	var msg strings.Builder
	for _, c := range certs {
		resp, err := h.addUploaded(r.Context(), c)
		if err != nil {
			fmt.Fprintf(&msg, "%s: %s\n", c.Fingerprint(), oneLine(err))
			continue
		}
		mailed := 0
		if h.opts.Mail != nil && h.opts.PublicURL != "" {
			for email, st := range resp.Status {
				if st == "unpublished" && h.sendVerification(r, resp.KeyFpr, email) == nil {
					mailed++
				}
			}
		}
		fmt.Fprintf(&msg, "%s: stored; %d verification mail(s) sent\n", resp.KeyFpr, mailed)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, msg.String())
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
