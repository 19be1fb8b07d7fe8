package recipient_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/web/recipient"
)

const sampleID = "AAAAAAAAAAAAAAAAAAAAAA"

func get(t testing.TB, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func sri384(b []byte) string {
	s := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(s[:])
}

var importMapRe = regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`)

func TestPageHeaders(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	w := get(t, h, "/d/"+sampleID)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	hd := w.Header()
	for k, want := range map[string]string{
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"Content-Type":           "text/html; charset=utf-8",
	} {
		if got := hd.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := hd.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "style-src 'self'", "connect-src 'self'", "object-src 'none'",
		"base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'", "frame-src blob:"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("CSP too loose: %s", csp)
	}
	// The only inline script is the import map, allowed by its exact hash.
	m := importMapRe.FindSubmatch(w.Body.Bytes())
	if m == nil {
		t.Fatal("no import map in the page")
	}
	sum := sha256.Sum256(m[1])
	if want := "script-src 'self' 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
	if bytes.Contains(w.Body.Bytes(), []byte("data-test")) {
		t.Error("test hooks enabled without TestHooks")
	}
	if !bytes.Contains(get(t, recipient.NewHandler(recipient.Options{TestHooks: true}), "/d/"+sampleID).Body.Bytes(), []byte(`data-test="1"`)) {
		t.Error("TestHooks does not mark the page")
	}
}

// The crypto worker's script carries its own policy, the only one that
// allows WebAssembly; the page's modules and the page do not.
func TestWorkerPolicy(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	csp := get(t, h, recipient.StaticPrefix+"cryptoworker.js").Header().Get("Content-Security-Policy")
	if csp != "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'" {
		t.Errorf("worker policy %q", csp)
	}
	if csp := get(t, h, recipient.StaticPrefix+"aes.js").Header().Get("Content-Security-Policy"); csp != "" {
		t.Errorf("a module carries a policy: %q", csp)
	}
	if csp := get(t, h, "/d/"+sampleID).Header().Get("Content-Security-Policy"); strings.Contains(csp, "wasm") {
		t.Errorf("the page allows WebAssembly: %q", csp)
	}
	w := get(t, h, recipient.StaticPrefix+"kernels.wasm")
	if ct := w.Header().Get("Content-Type"); ct != "application/wasm" {
		t.Errorf("kernels.wasm served as %q", ct)
	}
	if !bytes.HasPrefix(w.Body.Bytes(), []byte("\x00asm")) {
		t.Error("kernels.wasm is not a WebAssembly module")
	}
}

// Every script, module and stylesheet the page loads carries an integrity
// value that matches what the handler serves, and every module that the
// code imports is covered by the import map.
func TestSubresourceIntegrity(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	page := get(t, h, "/d/"+sampleID).Body.String()
	attrs := regexp.MustCompile(`(?:src|href)="(/d/static/[^"]+)"(?: [a-z]+="[^"]*")*? integrity="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(attrs) < 3 {
		t.Fatalf("only %d integrity attributes in the page", len(attrs))
	}
	var im struct{ Integrity map[string]string }
	if err := json.Unmarshal([]byte(importMapRe.FindStringSubmatch(page)[1]), &im); err != nil {
		t.Fatal(err)
	}
	check := func(url, want string) {
		w := get(t, h, url)
		if w.Code != 200 {
			t.Fatalf("%s: status %d", url, w.Code)
		}
		if got := sri384(w.Body.Bytes()); got != want {
			t.Errorf("%s: integrity %s, served %s", url, want, got)
		}
	}
	for _, a := range attrs {
		check(a[1], a[2])
	}
	for url, v := range im.Integrity {
		check(url, v)
	}
	importRe := regexp.MustCompile(`(?:from|import\()\s*"([^"]+)"`)
	for url := range im.Integrity {
		if strings.Contains(url, "/vendor/") {
			continue
		}
		src := get(t, h, url).Body.String()
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			target := m[1]
			if strings.HasPrefix(target, "./") {
				target = recipient.StaticPrefix + strings.TrimPrefix(target, "./")
			}
			if _, ok := im.Integrity[target]; !ok {
				t.Errorf("%s imports %s, which the import map does not cover", url, m[1])
			}
		}
		if regexp.MustCompile("[\"'`]https?://").MatchString(src) || strings.Contains(src, "innerHTML") {
			t.Errorf("%s refers to another site or uses innerHTML", url)
		}
	}
}

// The vendored OpenPGP.js is the file scripts/update-openpgp recorded.
func TestVendoredOpenPGP(t *testing.T) {
	rec, err := os.ReadFile("static/vendor/OPENPGP_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := os.ReadFile("static/vendor/openpgp.min.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec), "\nsri "+sri384(lib)+"\n") {
		t.Errorf("openpgp.min.mjs (%s) differs from the recorded vendored file:\n%s", sri384(lib), rec)
	}
	if !strings.Contains(string(rec), "version 6.3.2\n") || !bytes.HasPrefix(lib, []byte("/*! OpenPGP.js v6.3.2 ")) {
		t.Error("vendored OpenPGP.js is not 6.3.2")
	}
	if _, err := os.Stat("static/vendor/OPENPGP_LICENSE"); err != nil {
		t.Error("licence missing")
	}
}

// The vendored asn1js bundle is the file scripts/update-asn1js recorded,
// built from the versions web/recipient/vendorbuild pins.
func TestVendoredASN1js(t *testing.T) {
	rec, err := os.ReadFile("static/vendor/ASN1JS_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := os.ReadFile("static/vendor/asn1js.min.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec), "\nsri "+sri384(lib)+"\n") {
		t.Errorf("asn1js.min.mjs (%s) differs from the recorded vendored file:\n%s", sri384(lib), rec)
	}
	lock, err := os.ReadFile("vendorbuild/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec), "package asn1js 3.1.0\n") || !bytes.HasPrefix(lib, []byte("/*! asn1js 3.1.0 ")) ||
		!strings.Contains(string(lock), `"node_modules/asn1js": {
      "version": "3.1.0"`) {
		t.Error("vendored asn1js is not 3.1.0 or the lock file disagrees")
	}
	if l, err := os.ReadFile("static/vendor/ASN1JS_LICENSE"); err != nil || !strings.Contains(string(l), "==== asn1js 3.1.0") {
		t.Error("licence missing")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	for _, p := range []string{"/d/", "/d/short", "/d/" + sampleID + "x", "/d/AAAAAAAAAAAAAAAAAAAAA!", "/d/static/", "/d/static/nope.js",
		"/d/static/../web.go", "/d/static/index.html", "/d/" + sampleID + "/extra", "/other"} {
		if w := get(t, h, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, w.Code)
		}
	}
	if w := get(t, h, "/d/"+sampleID+"/"); w.Code != 200 {
		t.Errorf("trailing slash: %d", w.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/d/"+sampleID, strings.NewReader("x"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}

func TestAssetCompressionAndCaching(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	plain := get(t, h, "/d/static/vendor/openpgp.min.mjs")
	if ct := plain.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	z := get(t, h, "/d/static/vendor/openpgp.min.mjs", "Accept-Encoding", "br, gzip;q=0.8")
	if z.Header().Get("Content-Encoding") != "gzip" || z.Body.Len() >= plain.Body.Len() {
		t.Fatalf("not compressed: %q, %d bytes", z.Header().Get("Content-Encoding"), z.Body.Len())
	}
	zr, err := gzip.NewReader(z.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, plain.Body.Bytes()) {
		t.Fatal("gzip body differs")
	}
	if w := get(t, h, "/d/static/app.js", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused")
	}
	etag := plain.Header().Get("ETag")
	if w := get(t, h, "/d/static/vendor/openpgp.min.mjs", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
}

// largeOnly lists the modules the page loads only for a large document
// (app.js imports bigdoc.js when the drop is over the inline limit).
var largeOnly = map[string]bool{
	"bigdoc.js": true, "stream.js": true, "seipd.js": true, "aes.js": true,
	"sha1.js": true, "sha256.js": true, "sink.js": true, "sw.js": true, "cryptoworker.js": true, "onepass.js": true,
	"kernels.js": true, "kernels.wasm": true,
}

// replyOnly are the modules of the reply form (app.js imports reply.js
// once a document is shown).
var replyOnly = map[string]bool{"reply.js": true, "tus.js": true, "replyarchive.js": true}

// pdfsigOnly are the modules of the PDF signature check: pdfsig.js once a
// decrypted PDF is shown, the others and asn1js only when it has a
// signature dictionary.
var pdfsigOnly = map[string]bool{"pdfsig.js": true, "pdfsigcms.js": true, "pdfsigcert.js": true, "pdfsigder.js": true, "vendor/asn1js.min.mjs": true}

// TestPageWeight measures what a first visit downloads: the page, its
// stylesheet, icon and every module including OpenPGP.js. The budget is
// 500 KB uncompressed; 588 KB with the modules of a large document, 540 KB
// with those of the reply form, 602 KB with the PDF signature check, which load only
// when needed.
func TestPageWeight(t *testing.T) {
	h := recipient.NewHandler(recipient.Options{})
	page := get(t, h, "/d/"+sampleID).Body.Bytes()
	total, gz := len(page), len(page)
	large, replied, pdfsig := 0, 0, 0
	sub, err := fs.Sub(os.DirFS("static"), ".")
	if err != nil {
		t.Fatal(err)
	}
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !regexp.MustCompile(`\.(js|mjs|css|svg|wasm)$`).MatchString(p) {
			return err
		}
		n := get(t, h, recipient.StaticPrefix+p).Body.Len()
		if largeOnly[p] {
			large += n
			return nil
		}
		if replyOnly[p] {
			replied += n
			return nil
		}
		if pdfsigOnly[p] {
			pdfsig += n
			return nil
		}
		total += n
		gz += get(t, h, recipient.StaticPrefix+p, "Accept-Encoding", "gzip").Body.Len()
		return nil
	})
	t.Logf("page weight: %d bytes uncompressed, %d bytes gzip; a large document adds %d bytes, the reply form %d, the PDF signature check %d", total, gz, large, replied, pdfsig)
	if total > 500_000 {
		t.Errorf("page weighs %d bytes, over the 500 KB budget", total)
	}
	// A large document brings its own crypto (AES-256's rounds written out
	// for speed, the workers) and its own reading of the inner message in
	// one pass (onepass.js and its pipeline in stream.js, about 19 KB:
	// OpenPGP.js hashing the document on the page's thread was what made
	// a large document slow to open), and the bound on decompression
	// (opener.js, stream.js), and the same loops in WebAssembly with their
	// loader (kernels.wasm and kernels.js, about 14 KB): 588 KB.
	if total+large > 588_000 {
		t.Errorf("page with a large document weighs %d bytes, over the 588 KB budget", total+large)
	}
	if total+replied > 540_000 {
		t.Errorf("page with the reply form weighs %d bytes, over the 540 KB budget", total+replied)
	}
	if total+replied+pdfsig > 602_000 {
		t.Errorf("page with the reply form and the PDF signature check weighs %d bytes, over the 602 KB budget", total+replied+pdfsig)
	}
	if pdfsig == 0 {
		t.Fatal("the PDF signature modules were not found")
	}
	// The lazily loaded modules must stay out of the first visit: no
	// static import of them from any module of the first visit.
	lazy := merged(merged(largeOnly, replyOnly), pdfsigOnly)
	staticImport := regexp.MustCompile(`(?m)^\s*import\s+(?:[^"'()]*?\s+from\s+)?"\./([^"]+)"`)
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		src, err := os.ReadFile("static/" + name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		for _, m := range staticImport.FindAllStringSubmatch(string(src), -1) {
			if lazy[m[1]] {
				t.Errorf("%s imports %s statically", name, m[1])
			}
			walk(m[1])
		}
	}
	walk("app.js")
	if !seen["opener.js"] || !seen["i18n.js"] {
		t.Fatalf("import graph not followed: %v", seen)
	}
}

func FuzzHandlerPath(f *testing.F) {
	for _, s := range []string{"/d/" + sampleID, "/d/static/app.js", "/d/static/vendor/openpgp.min.mjs", "/d/", "/d/static/../../etc/passwd", "/d/%00", "/x"} {
		f.Add(s)
	}
	h := recipient.NewHandler(recipient.Options{})
	valid := regexp.MustCompile(`^/d/[A-Za-z0-9_-]{22}/?$`)
	f.Fuzz(func(t *testing.T, p string) {
		req, err := http.NewRequest(http.MethodGet, "http://relay.example/", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200:
			if !valid.MatchString(p) && !strings.HasPrefix(p, recipient.StaticPrefix) {
				t.Fatalf("200 for %q", p)
			}
		case 404:
		default:
			t.Fatalf("status %d for %q", w.Code, p)
		}
		if w.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Fatal("no referrer policy")
		}
	})
}

// Both languages have every text, and every text the page names exists.
func TestTranslationsComplete(t *testing.T) {
	src, err := os.ReadFile("static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	en, fr := strings.Index(s, "\n  en: {"), strings.Index(s, "\n  fr: {")
	end := strings.Index(s, "\n};")
	if en < 0 || fr < en || end < fr {
		t.Fatal("i18n.js layout changed")
	}
	keyRe := regexp.MustCompile(`(?m)^\s+"([a-z0-9.]+)":`)
	keys := func(block string) map[string]bool {
		m := map[string]bool{}
		for _, k := range keyRe.FindAllStringSubmatch(block, -1) {
			m[k[1]] = true
		}
		return m
	}
	enKeys, frKeys := keys(s[en:fr]), keys(s[fr:end])
	// Modules add their own texts with i18n.extend({fr: {…}, en: {…}}).
	for _, f := range []string{"static/reply.js"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := string(b)
		start := strings.Index(m, "i18n.extend({")
		fr, en := strings.Index(m, "\n  fr: {"), strings.Index(m, "\n  en: {")
		end := strings.Index(m, "\n});")
		if start < 0 || fr < start || en < fr || end < en {
			t.Fatalf("%s: i18n.extend layout changed", f)
		}
		for k := range keys(m[fr:en]) {
			frKeys[k] = true
		}
		for k := range keys(m[en:end]) {
			enKeys[k] = true
		}
	}
	for k := range enKeys {
		if !frKeys[k] {
			t.Errorf("French lacks %q", k)
		}
	}
	for k := range frKeys {
		if !enKeys[k] {
			t.Errorf("English lacks %q", k)
		}
	}
	var used []string
	for _, f := range []string{"static/index.html", "static/app.js", "static/keykit.js", "static/bigdoc.js", "static/reply.js", "static/pdfsig.js"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`data-t="([a-z0-9.]+)"|\bt\("([a-z0-9.]+)"`).FindAllStringSubmatch(string(b), -1) {
			if k := m[1] + m[2]; !strings.HasSuffix(k, ".") {
				used = append(used, k)
			}
		}
		for _, m := range regexp.MustCompile(`problem\("([a-z]+)"`).FindAllStringSubmatch(string(b), -1) {
			used = append(used, "p."+m[1], "p."+m[1]+".text", "p."+m[1]+".what")
		}
	}
	if len(used) < 40 {
		t.Fatalf("only %d texts found in use", len(used))
	}
	for _, k := range used {
		if !enKeys[k] {
			t.Errorf("text %q used but not defined", k)
		}
	}
}

// merged returns the union of two sets.
func merged(a, b map[string]bool) map[string]bool {
	m := make(map[string]bool, len(a)+len(b))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
