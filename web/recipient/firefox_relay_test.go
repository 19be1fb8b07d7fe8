package recipient_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirefoxWithRealRelay: documents made by `sealprint send` go through
// the real relay and open in Firefox ESR, driven over WebDriver BiDi: key
// mode with a key file then with the key saved in the browser, link mode
// with and without an access code, in French and in English; the PDF is
// shown inline and saved to disk byte for byte.
func TestFirefoxWithRealRelay(t *testing.T) {
	ff := startFirefox(t)
	r := startRealRelay(t)
	report := samplePDF(3)
	r.file(t, "rapport.pdf", report)
	sum := sha256.Sum256(report)
	want := hex.EncodeToString(sum[:])

	check := func(t *testing.T, p *ffPage, s sendResult, lang string) {
		t.Helper()
		p.waitState("decrypted")
		if got := p.str(`document.documentElement.dataset.sha256`); got != s.SHA256 || got != want {
			t.Fatalf("page fingerprint %s, send printed %s, want %s", got, s.SHA256, want)
		}
		if got := mustB64(t, p.str(`window.sealprintTest.base64()`)); !bytes.Equal(got, report) {
			t.Fatal("decrypted bytes differ from the original")
		}
		if l := p.str(`document.documentElement.lang`); l != lang {
			t.Errorf("page language %q, want %q", l, lang)
		}
		// Shown inline: the viewer frame holds the decrypted PDF.
		if p.str(`document.getElementById("viewer-card").hidden`) != "false" || !strings.HasPrefix(p.str(`document.getElementById("viewer").src`), "blob:") {
			t.Error("the PDF is not shown inline")
		}
		if st := p.poll(`document.documentElement.dataset.receipt`); st != "sent" {
			t.Errorf("receipt %q", st)
		}
		// Saved: the "Save" button writes the very same bytes to disk.
		name := p.str(`document.getElementById("save").download`)
		p.click(`#save`)
		saved := waitFile(t, filepath.Join(ff.DownloadDir, name), int64(len(report)))
		if !bytes.Equal(saved, report) {
			t.Fatalf("saved file %s differs from the original", name)
		}
		os.Remove(filepath.Join(ff.DownloadDir, name))
	}

	t.Run("key mode with a key file, then the key saved in the browser (fr)", func(t *testing.T) {
		s := r.doctor.send("rapport.pdf", "--to", r.officerMail)
		p := ff.page(t)
		p.goto_(s.Link)
		p.click(`button[data-lang="fr"]`)
		p.waitState("key")
		p.upload(`#import-file`, r.officerSecret)
		p.typeIn(`#import-pass`, officerPass)
		p.click(`#import-form button[type=submit]`)
		check(t, p, s, "fr")

		// A second document: the key saved in this browser opens it.
		s2 := r.doctor.send("rapport.pdf", "--to", r.officerMail)
		p2 := p.sibling()
		p2.goto_(s2.Link)
		p2.waitState("key")
		if p2.str(`document.getElementById("unlock-form").hidden`) != "false" {
			t.Fatal("the saved key is not offered")
		}
		p2.typeIn(`#unlock-pass`, officerPass)
		p2.click(`#unlock-form button[type=submit]`)
		check(t, p2, s2, "fr")
	})

	t.Run("link mode with an access code (en)", func(t *testing.T) {
		s := r.doctor.send("rapport.pdf", "--link", "--code", "--to", r.officerMail)
		p := ff.page(t)
		p.goto_(s.Link)
		p.click(`button[data-lang="en"]`)
		p.waitState("code")
		// Before decryption no sender is claimed: the relay account's name
		// is not bound to the signer.
		if p.str(`document.getElementById("f-sender").hidden`) != "true" || strings.Contains(p.str(`document.body.innerText`), "CHU de Lyon") {
			t.Error("the relay account's name is shown as the sender before decryption")
		}
		p.typeIn(`#code`, s.Code)
		p.click(`#code-form button[type=submit]`)
		check(t, p, s, "en")
	})

	t.Run("link mode without a code (fr)", func(t *testing.T) {
		s := r.doctor.send("rapport.pdf", "--link", "--to", r.officerMail)
		p := ff.page(t)
		p.goto_(s.Link)
		p.click(`button[data-lang="fr"]`)
		check(t, p, s, "fr")
		if !strings.Contains(p.str(`document.getElementById("verdict").textContent`), "authentique") {
			t.Errorf("French verdict missing: %q", p.str(`document.getElementById("verdict").textContent`))
		}
	})
}

// waitFile waits until path exists with size bytes (a download finishing)
// and returns its content.
func waitFile(t *testing.T, path string, size int64) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() == size {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(filepath.Dir(path))
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Fatalf("%s not saved (download dir has %v)", path, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
