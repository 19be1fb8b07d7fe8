// Package redact removes secrets from what is logged: sender tokens
// (spt_…), bearer credentials, the token in /verify/ and /manage/ paths,
// email addresses (in by-email lookups, WKD hashes and free text), URL
// fragments (the link secret) and query strings (keys, grants). Every HTTP
// log line of the relay and of the PC goes through String, usually by way
// of Handler around the process's slog handler.
package redact

import (
	"regexp"
	"strings"
)

var rules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Secret path segments: verification and management tokens, the
	// address of a by-email lookup, WKD's hashed local part.
	{regexp.MustCompile(`(/(?:verify|manage)/)[^/\s?#"']+`), "${1}[token]"},
	{regexp.MustCompile(`(/vks/v1/by-email/)[^/\s?#"']+`), "${1}[address]"},
	{regexp.MustCompile(`(/\.well-known/openpgpkey/(?:[^/\s]+/)?hu/)[^/\s?#"']+`), "${1}[hash]"},
	// Credentials.
	{regexp.MustCompile(`spt_[A-Za-z0-9_-]+`), "spt_[token]"},
	{regexp.MustCompile(`(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "${1} [credential]"},
	// A URL's fragment is the link secret; its query may carry a key or a
	// grant.
	{regexp.MustCompile(`#[A-Za-z0-9_=-]{8,}`), "#[secret]"},
	{regexp.MustCompile(`\?[^\s"']*`), "?[query]"},
	// Email addresses anywhere (recipients, senders, SMTP errors), also
	// percent-encoded.
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}`), "[address]"},
	// Named secrets in key=value or JSON form.
	{regexp.MustCompile(`(?i)((?:passphrase|password|code|grant|secret|key|token)["']?\s*[:=]\s*["']?)[^\s"'&,}]+`), "${1}[redacted]"},
}

// String returns s with every secret this package knows replaced by a
// placeholder.
func String(s string) string {
	if s == "" {
		return s
	}
	for _, r := range rules {
		if r.re.MatchString(s) {
			s = r.re.ReplaceAllString(s, r.repl)
		}
	}
	return s
}

// Path returns an HTTP request path fit for a log line.
func Path(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return String(p)
}
