package keyserver

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/testutil"
)

// gnupg is one throwaway GnuPG home.
type gnupg struct {
	t    *testing.T
	gpg  string
	home string
}

func newGnuPG(t *testing.T, keyserverURL string) *gnupg {
	t.Helper()
	g := &gnupg{t: t, gpg: testutil.NeedTool(t, "gpg")}
	// Short path: gpg-agent's socket path must stay under 108 bytes.
	home, err := os.MkdirTemp("", "ksg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	g.home = home
	conf := "keyserver " + keyserverURL + "\nstandard-resolver\nno-use-tor\nhonor-http-proxy\n"
	if err := os.WriteFile(filepath.Join(home, "dirmngr.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if gc, err := exec.LookPath("gpgconf"); err == nil {
			cmd := exec.Command(gc, "--kill", "all")
			cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
			cmd.Run()
		}
		os.RemoveAll(home)
	})
	return g
}

func (g *gnupg) run(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(g.gpg, append([]string{"--batch", "--no-tty", "--yes"}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=C", "GNUPGHOME="+g.home, "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=")
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g *gnupg) must(stdin []byte, args ...string) string {
	g.t.Helper()
	out, err := g.run(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var fprLine = regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`)

// TestGnuPGAgainstDirectory runs real gpg, dirmngr and an aiosmtpd SMTP
// server against the directory: gpg --send-keys stores the key and mails a
// verification link; until the link is followed nothing is found by
// address and gpg --recv-keys gets no user ID; afterwards --recv-keys, VKS
// by-email and WKD (at the URL gpg-wks-client computes) serve the key.
func TestGnuPGAgainstDirectory(t *testing.T) {
	testutil.NeedIntegration(t)
	smtpd := testutil.StartSMTP(t, testutil.SMTPOptions{})
	sender, err := mail.NewSMTP(smtpd.URL, "keys@relay.test")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.Mail = sender })
	hkp := "hkp://" + strings.TrimPrefix(ts.URL, "http://")

	alice := newGnuPG(t, hkp)
	alice.must(nil, "--passphrase", "", "--quick-gen-key", "Alice <alice@police.example>", "future-default", "default", "never")
	fpr := fprLine.FindStringSubmatch(alice.must(nil, "--with-colons", "--list-keys", "alice@police.example"))[1]

	alice.must(nil, "--send-keys", fpr)

	// The verification mail reached the real SMTP server.
	msgs := smtpd.WaitMessages(t, 1)
	if len(msgs[0].To) != 1 || msgs[0].To[0] != "alice@police.example" {
		t.Fatalf("mail to %v", msgs[0].To)
	}
	body, _ := io.ReadAll(msgs[0].Message(t).Body)
	link := linkIn(t, qpDecode(string(body)))

	// Before verification: nothing by address; gpg gets no user ID.
	if code, _ := ts.get(t, "/vks/v1/by-email/alice@police.example"); code != 404 {
		t.Fatalf("by-email before verification: %d", code)
	}
	bob := newGnuPG(t, hkp)
	if out, _ := bob.run(nil, "--recv-keys", fpr); !strings.Contains(out, "no user ID") || strings.Contains(out, "imported: 1") {
		t.Fatalf("gpg imported an unverified key:\n%s", out)
	}

	follow(t, link)

	out := bob.must(nil, "--recv-keys", fpr)
	t.Logf("gpg --recv-keys:\n%s", out)
	if !strings.Contains(out, "alice@police.example") {
		t.Fatalf("recv-keys output:\n%s", out)
	}
	if got := bob.must(nil, "--with-colons", "--list-keys", "alice@police.example"); !strings.Contains(got, fpr) {
		t.Fatalf("bob's keyring:\n%s", got)
	}
	if code, _ := ts.get(t, "/vks/v1/by-email/alice@police.example"); code != 200 {
		t.Fatalf("by-email after verification: %d", code)
	}

	// WKD: the advanced-method URL gpg itself computes, fetched from the
	// directory instead of the real domain.
	wks := "/usr/lib/gnupg/gpg-wks-client"
	if _, err := os.Stat(wks); err != nil {
		wks = testutil.NeedTool(t, "gpg-wks-client")
	}
	cmd := exec.Command(wks, "--print-wkd-url", "alice@police.example")
	cmd.Env = append(os.Environ(), "GNUPGHOME="+alice.home)
	wkdOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg-wks-client: %v", err)
	}
	u, err := url.Parse(strings.TrimSpace(string(wkdOut)))
	if err != nil || u.Host != "openpgpkey.police.example" {
		t.Fatalf("wkd url %q", wkdOut)
	}
	for _, path := range []string{u.RequestURI(), strings.Replace(u.RequestURI(), "/police.example/hu/", "/hu/", 1)} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Host = "police.example" // the direct method takes the domain from Host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("WKD %s: %d", path, resp.StatusCode)
		}
		carol := newGnuPG(t, hkp)
		carol.must(key, "--import")
		if got := carol.must(nil, "--with-colons", "--list-keys", "alice@police.example"); !strings.Contains(got, fpr) {
			t.Fatalf("WKD key not imported:\n%s", got)
		}
	}
	// An unverified address has no WKD entry.
	if code, _ := ts.get(t, "/.well-known/openpgpkey/police.example/hu/"+WKDHash("bob")+"?l=bob"); code != 404 {
		t.Fatalf("WKD for unknown address: %d", code)
	}
}

// qpDecode undoes quoted-printable soft line breaks and escapes, enough to
// read a link.
func qpDecode(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	s = strings.ReplaceAll(s, "=\n", "")
	return strings.ReplaceAll(s, "=3D", "=")
}
