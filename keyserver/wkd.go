package keyserver

import (
	"bytes"
	"net"
	"net/http"
	"regexp"
	"strings"
)

var wkdHashPattern = regexp.MustCompile(`^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$`)

// wkd serves the Web Key Directory: the direct method
// (/.well-known/openpgpkey/hu/{hash}, domain from the Host header), the
// advanced method (/.well-known/openpgpkey/{domain}/hu/{hash}, host
// openpgpkey.{domain}) and the policy files of both.
func (h *Handler) wkd(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/.well-known/openpgpkey/")
	parts := strings.Split(rest, "/")
	host := r.Host
	if hst, _, err := net.SplitHostPort(host); err == nil {
		host = hst
	}
	switch {
	case len(parts) == 1 && parts[0] == "policy",
		len(parts) == 2 && parts[1] == "policy":
		h.wkdPolicy(w, r)
	case len(parts) == 2 && parts[0] == "hu":
		h.serveWKD(w, r, host, parts[1])
	case len(parts) == 3 && parts[1] == "hu":
		h.serveWKD(w, r, parts[0], parts[2])
	default:
		http.Error(w, notFoundMsg, http.StatusNotFound)
	}
}

// serveWKD writes the verified keys of domain's address with this hash in
// binary, each with only its published user IDs in that domain.
func (h *Handler) serveWKD(w http.ResponseWriter, r *http.Request, domain, hash string) {
	domain = strings.ToLower(domain)
	if !wkdHashPattern.MatchString(hash) || NormalizeEmail("x@"+domain) == "" {
		http.Error(w, notFoundMsg, http.StatusNotFound)
		return
	}
	fprs, err := h.dir.store.ByWKD(r.Context(), domain, hash)
	if err != nil {
		h.internalError(w, "wkd lookup", err)
		return
	}
	var buf bytes.Buffer
	for _, f := range fprs {
		c, publish, err := h.dir.published(r.Context(), f)
		if err != nil {
			continue
		}
		match := func(e string) bool {
			local, d := splitEmail(e)
			return publish(e) && d == domain && WKDHash(local) == hash
		}
		if !hasPublished(c, match) {
			continue
		}
		c.Serialize(&buf, match)
	}
	if buf.Len() == 0 {
		http.Error(w, notFoundMsg, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(buf.Bytes())
}

// wkdPolicy serves the (empty) WKD policy file, whose presence tells
// clients the directory exists.
func (h *Handler) wkdPolicy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
}
