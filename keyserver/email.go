package keyserver

import (
	"crypto/sha1"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailLen bounds an address (RFC 5321 path limit).
const maxEmailLen = 254

// NormalizeEmail returns the canonical form of an address (domain and local
// part lower-cased) or "" when s is not a plain, valid address.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > maxEmailLen || !utf8.ValidString(s) {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("<>()[]\\,;:\"", r) {
			return ""
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return ""
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") ||
		strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return ""
	}
	addr := strings.ToLower(local) + "@" + domain
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		return ""
	}
	return addr
}

// emailOfUserID extracts the address of a user ID such as
// "Name (comment) <a@b.example>" or "a@b.example".
func emailOfUserID(id string) string {
	if len(id) > 1024 || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "" // never published
	}
	if i := strings.LastIndexByte(id, '<'); i >= 0 {
		j := strings.IndexByte(id[i:], '>')
		if j < 0 {
			return ""
		}
		return NormalizeEmail(id[i+1 : i+j])
	}
	return NormalizeEmail(id)
}

// splitEmail returns the local part and domain of a normalized address.
func splitEmail(email string) (local, domain string) {
	at := strings.LastIndexByte(email, '@')
	return email[:at], email[at+1:]
}

// WKDHash returns the z-base-32 encoded SHA-1 of the lower-cased local
// part, the file name of the address in a Web Key Directory.
func WKDHash(local string) string {
	sum := sha1.Sum([]byte(strings.ToLower(local)))
	return zbase32(sum[:])
}

const zbase32Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

// zbase32 encodes b (whose bit length is a multiple of 5 for SHA-1) in
// z-base-32.
func zbase32(b []byte) string {
	var sb strings.Builder
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(zbase32Alphabet[(acc>>uint(bits))&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(zbase32Alphabet[(acc<<uint(5-bits))&31])
	}
	return sb.String()
}
