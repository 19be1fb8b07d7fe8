package recipient

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// page is the rendered HTML of the recipient's page and its policy.
type page struct {
	html []byte
	csp  string
}

var sriPlaceholder = regexp.MustCompile(`\{\{SRI ([^}]+)\}\}`)

// renderPage fills the template's integrity values, import map and root
// attributes. The import map is an inline script, allowed by its hash only.
func renderPage(as assets, testHooks bool) (*page, error) {
	tmpl, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		return nil, fmt.Errorf("read page template: %w", err)
	}
	var missing []string
	html := sriPlaceholder.ReplaceAllStringFunc(string(tmpl), func(m string) string {
		name := sriPlaceholder.FindStringSubmatch(m)[1]
		a, ok := as[name]
		if !ok {
			missing = append(missing, name)
			return ""
		}
		return a.sri
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("page template names unknown files %v", missing)
	}
	im := as.importMap()
	attrs := ""
	if testHooks {
		attrs = ` data-test="1"`
	}
	html = strings.NewReplacer("{{IMPORTMAP}}", im, "{{ROOTATTRS}}", attrs).Replace(html)
	sum := sha256.Sum256([]byte(im))
	return &page{html: []byte(html), csp: policy("'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")}, nil
}

// policy returns the page's Content-Security-Policy. Scripts come only from
// this origin (each with SRI) plus the import map's hash; requests go only
// to this origin; the decrypted PDF is shown from a blob: URL in a frame.
func policy(importMapHash string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + importMapHash,
		"style-src 'self'",
		"connect-src 'self'",
		"img-src 'self' data: blob:",
		"frame-src blob: 'self'",
		"worker-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}
