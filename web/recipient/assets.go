package recipient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed static
var staticFS embed.FS

// StaticPrefix is the URL path under which the page's files are served.
// It lies under /d/ so that mounting the handler on /d/ serves everything.
const StaticPrefix = "/d/static/"

// asset is one embedded file, ready to serve.
type asset struct {
	name        string // path below static/, e.g. "vendor/openpgp.min.mjs"
	contentType string
	body        []byte
	gz          []byte // gzip of body, nil when it would not be smaller
	sri         string // "sha384-…", the Subresource Integrity value
	etag        string
}

// assets holds every embedded file except the page template, by name.
type assets map[string]*asset

var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
	".wasm": "application/wasm",
}

// workerPolicy is the Content-Security-Policy of the crypto worker's script
// (a dedicated worker takes its policy from its own response, not from the
// page's): its modules and kernels.wasm from this origin, WebAssembly
// compiled ('wasm-unsafe-eval' allows no JavaScript eval), nothing else.
// The page itself runs no WebAssembly and keeps its stricter policy.
const workerPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'"

// workerScripts are the assets served with workerPolicy.
var workerScripts = map[string]bool{"cryptoworker.js": true}

// loadAssets reads the embedded files and computes their integrity hashes
// and compressed forms once.
func loadAssets() (assets, error) {
	out := assets{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if name == "index.html" {
			return nil
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", name, err)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "text/plain; charset=utf-8"
		}
		s384 := sha512.Sum384(body)
		s256 := sha256.Sum256(body)
		a := &asset{
			name:        name,
			contentType: ct,
			body:        body,
			sri:         "sha384-" + base64.StdEncoding.EncodeToString(s384[:]),
			etag:        `"` + hex.EncodeToString(s256[:12]) + `"`,
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
		out[name] = a
		return nil
	})
	return out, err
}

// modules lists the JavaScript modules, sorted, for the import map.
func (as assets) modules() []*asset {
	var mods []*asset
	for _, a := range as {
		if strings.HasSuffix(a.name, ".js") || strings.HasSuffix(a.name, ".mjs") {
			mods = append(mods, a)
		}
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].name < mods[j].name })
	return mods
}

// importMap returns the page's import map: integrity for every module, so
// that modules loaded by import statements are checked like <script> tags.
func (as assets) importMap() string {
	integrity := map[string]string{}
	for _, a := range as.modules() {
		integrity[StaticPrefix+a.name] = a.sri
	}
	b, err := json.Marshal(map[string]any{"integrity": integrity})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}
