package recipient_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBenchDecrypt times opening one link-mode drop in Chromium (download,
// decrypt, verify, fingerprint) against gpg decrypting the same ciphertext.
// It runs only from bench/web.sh (SEALPRINT_BENCH_WEB=1); size in MB from
// SEALPRINT_BENCH_MB (default 20).
func TestBenchDecrypt(t *testing.T) {
	if os.Getenv("SEALPRINT_BENCH_WEB") != "1" {
		t.Skip("benchmark: run bench/web.sh")
	}
	mb := 20
	if v, err := strconv.Atoi(os.Getenv("SEALPRINT_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	e := newBrowserEnv(t)
	plain := make([]byte, mb<<20)
	rand.Read(plain)
	copy(plain, "%PDF-1.7\n")
	d, s, secret := func() (*fakeDrop, sealed, string) {
		d, _, secret := e.linkDrop(t, "")
		s := e.seal(t, plain, nil, secret)
		d.relay.mu.Lock()
		d.ciphertext = s.cipher
		d.relay.mu.Unlock()
		return d, s, secret
	}()

	ctx := e.tab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "decrypted") // warm: caches OpenPGP.js, starts the viewer
	ctx2 := e.tab(t)
	start := time.Now()
	if err := chromedp.Do(ctx2, chromedp.Navigate(e.srv.URL+"/d/"+d.id+"#"+secret)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx2, "decrypted")
	browser := time.Since(start)
	marks, err := chromedp.Run(ctx2, chromedp.Evaluate[string](`performance.getEntriesByType("mark").map(m => m.name.replace("sealprint-", "") + " " + Math.round(m.startTime) + " ms").join(", ")`))
	if err != nil {
		t.Fatal(err)
	}

	ct := filepath.Join(t.TempDir(), "doc.pgp")
	os.WriteFile(ct, s.cipher, 0o600)
	gpgHome := t.TempDir()
	var pub bytes.Buffer
	e.sender.WritePublic(&pub, true)
	imp := exec.Command("gpg", "--homedir", gpgHome, "--batch", "--import")
	imp.Stdin = &pub
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg import: %v\n%s", err, out)
	}
	start = time.Now()
	out, err := exec.Command("gpg", "--homedir", gpgHome, "--batch", "--pinentry-mode", "loopback", "--passphrase="+secret,
		"--output", filepath.Join(t.TempDir(), "doc.pdf"), "--decrypt", ct).CombinedOutput()
	gpgTime := time.Since(start)
	if err != nil {
		t.Fatalf("gpg: %v\n%s", err, out)
	}
	fmt.Printf("document: %d MB, ciphertext %d bytes\n", mb, len(s.cipher))
	fmt.Printf("chromium page (navigate → decrypted, signature checked, SHA-256): %v\n", browser.Round(time.Millisecond))
	fmt.Printf("chromium page steps (since navigation start): %s\n", marks)
	fmt.Printf("gpg --decrypt (verify, write file):                               %v\n", gpgTime.Round(time.Millisecond))
	fmt.Printf("ratio page/gpg: %.2f\n", browser.Seconds()/gpgTime.Seconds())
}
