package cli

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// What Wine can show of DPAPI (Wine 8's CryptProtectData): the files hold
// a sealed blob, not the secret; a new process unseals it; a blob is bound
// to the user name. What it cannot: Wine derives the key from the user
// name, a constant and the salt only, so a copy opens in any prefix of the
// same user name, where Windows binds it to the user's logon secret and
// machine. That binding is not proven here.

// checkDPAPISealed fails unless the secret file at path is a DPAPI blob.
func checkDPAPISealed(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	rest, ok := bytes.CutPrefix(b, []byte("sealprint-sealed:dpapi:"))
	if !ok {
		t.Fatalf("%s is not sealed with DPAPI: %.40q", path, b)
	}
	blob, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(rest)))
	if err != nil || len(blob) < 64 {
		t.Fatalf("%s: not a DPAPI blob (%d bytes, %v)", path, len(blob), err)
	}
	if bytes.Contains(b, []byte("PRIVATE KEY")) || bytes.Contains(blob, []byte("PRIVATE KEY")) {
		t.Fatalf("%s holds the armored secret key", path)
	}
}

// checkDPAPICopies copies the user's home into a second Wine prefix: run
// as the same user name, sealing (which signs) works there — Wine's limit,
// logged; run as another user name, the sender key does not unseal.
func checkDPAPICopies(t *testing.T, w *wine, exe string, home []string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	w2 := newWine(t)
	if out, err := exec.Command("cp", "-a", w.unixPath(`C:\sphome`), w2.unixPath(`C:\`)).CombinedOutput(); err != nil {
		t.Fatalf("copy home: %v\n%s", err, out)
	}
	doc := w2.unixPath(`C:\doc.txt`)
	os.WriteFile(doc, []byte("MARKER-DPAPI\n"), 0o644)
	pub := w.must(home, exe, "keys", "export", "durand@chu.example")
	os.WriteFile(w2.unixPath(`C:\me.asc`), []byte(pub), 0o644)
	seal := func(extra ...string) (string, error) {
		out, errs, err := w2.run(append(append([]string(nil), home...), extra...), exe, "seal", `C:\doc.txt`, "--to-file", `C:\me.asc`, "-o", `C:\doc-`+strings.Join(extra, "")+`.pgp`)
		return out + errs, err
	}
	if out, err := seal(); err != nil {
		t.Logf("a copy in another prefix of the same user does not unseal: %v %s", err, out)
	} else {
		t.Logf("Wine's DPAPI is not bound to a machine: a copy of the home in another prefix of the same user unseals (%s)", strings.TrimSpace(out))
	}
	out, err := seal("USER=mallory", "LOGNAME=mallory")
	if err == nil || !strings.Contains(out, "unseal sender-key with dpapi") {
		t.Fatalf("another user name unsealed the copied sender key: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(w2.unixPath(`C:\`), "doc-USER=malloryLOGNAME=mallory.pgp")); err == nil {
		t.Fatal("sealed output written although the key did not unseal")
	}
}

// checkPeersUnderWine runs the printer's Windows tests of peer
// identification (GetExtendedTcpTable, the owner process' token) in the
// Wine prefix.
func checkPeersUnderWine(t *testing.T, w *wine) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "printer.test.exe")
	build := exec.Command(testutil.NeedTool(t, "go"), "test", "-c", "-o", exe, "./printer")
	build.Dir = testutil.ModuleRoot()
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build printer tests for Windows: %v\n%s", err, out)
	}
	out, errs, err := w.run(nil, exe, "-test.run", "^(TestTCPTablePeersRealSocket|TestOwnAccountOnlyWindows)$", "-test.v")
	t.Logf("printer tests under Wine:\n%s%s", out, errs)
	if err != nil || !strings.Contains(out, "--- PASS: TestTCPTablePeersRealSocket") || !strings.Contains(out, "--- PASS: TestOwnAccountOnlyWindows") {
		t.Fatalf("printer peer tests under Wine: %v", err)
	}
}
