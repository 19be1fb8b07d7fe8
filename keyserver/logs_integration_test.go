package keyserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestLogsHoldNoSecret runs the real sealrelay and sealprint through every
// path that handles a secret — key upload, verification and management
// links, by-email lookups, a link-mode send with an access code, the grant
// and the download — then greps everything the relay logged, and what
// sealprint open wrote to stderr, for each secret of the run.
func TestLogsHoldNoSecret(t *testing.T) {
	testutil.NeedIntegration(t)
	relayBin := testutil.Binary(t, "sealrelay")
	printBin := testutil.Binary(t, "sealprint")
	smtpd := testutil.StartSMTP(t, testutil.SMTPOptions{})
	data := t.TempDir()
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	var relayLog bytes.Buffer
	relay := exec.Command(relayBin, "serve", "--data", data, "--listen", addr, "--public-url", base,
		"--smtp", smtpd.URL, "--mail-from", "keys@relay.test", "--publish-domains", "police.example")
	relay.Stdout, relay.Stderr = &relayLog, &relayLog
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			relay.Process.Signal(os.Interrupt)
			relay.Wait()
		}
	}
	t.Cleanup(stop)
	waitHealthy(t, base, &relayLog)
	secrets := map[string]string{}

	// Publish a key: upload token, verification token.
	const who = "secret-person@police.example"
	secrets["address"] = who
	e := newEntity(t, "Secret Person", who)
	up := postJSON(t, base+"/vks/v1/upload", map[string]string{"keytext": armorPublic(t, e)})
	secrets["upload token"] = up["token"].(string)
	postJSON(t, base+"/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{who}})
	msgs := smtpd.WaitMessages(t, 1)
	body, _ := io.ReadAll(msgs[0].Message(t).Body)
	verify := linkIn(t, qpDecode(string(body)))
	secrets["verify token"] = verify[strings.LastIndex(verify, "/")+1:]
	follow(t, verify)

	// Look it up by address (plain and percent-encoded), and by WKD.
	for _, u := range []string{"/vks/v1/by-email/" + who, "/vks/v1/by-email/" + url.PathEscape(who), "/vks/v1/by-email/" + strings.ReplaceAll(who, "@", "%40")} {
		if code := getCode(t, base+u); code != 200 {
			t.Fatalf("GET %s: %d", u, code)
		}
	}
	// Manage it: manage token.
	postJSON(t, base+"/manage", map[string]string{"email": who})
	msgs = smtpd.WaitMessages(t, 2)
	body, _ = io.ReadAll(msgs[1].Message(t).Body)
	manage := linkIn(t, qpDecode(string(body)))
	secrets["manage token"] = manage[strings.LastIndex(manage, "/")+1:]
	if code := getCode(t, manage); code != 200 {
		t.Fatalf("GET manage link: %d", code)
	}

	// A link-mode send with an access code, opened with the code.
	home := t.TempDir()
	token := strings.TrimSpace(run(t, nil, relayBin, "token", "create", "--data", data, "--name", "Dr A"))
	secrets["sender token"] = token
	env := append(os.Environ(), "SEALPRINT_HOME="+home, "SEALPRINT_RELAY="+base, "SEALPRINT_TOKEN="+token, "SEALPRINT_KEYRING=file")
	run(t, env, printBin, "keys", "generate", "--name", "Dr A", "--email", "dr-a@chu.example")
	secrets["sender address"] = "dr-a@chu.example"
	doc := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(doc, []byte("report"), 0o600)
	const rcpt = "link-recipient@police.example"
	secrets["link recipient"] = rcpt
	var sent struct {
		Link string `json:"link"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal([]byte(run(t, env, printBin, "send", "--json", "--link", "--code", "--to", rcpt, doc)), &sent); err != nil || sent.Code == "" {
		t.Fatalf("send: %v %+v", err, sent)
	}
	secrets["access code"] = sent.Code
	secrets["link secret"] = sent.Link[strings.Index(sent.Link, "#")+1:]
	other := append(os.Environ(), "SEALPRINT_HOME="+t.TempDir(), "SEALPRINT_KEYRING=file")
	var openErr bytes.Buffer
	cmd := exec.Command(printBin, "open", sent.Link, "--code", sent.Code, "-o", filepath.Join(t.TempDir(), "got.txt"))
	cmd.Env, cmd.Stderr = other, &openErr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("open: %v\n%s%s", err, out, openErr.String())
	}
	// A wrong code and a request with a query string are logged too.
	cmd = exec.Command(printBin, "open", sent.Link, "--code", "99999999", "-o", filepath.Join(t.TempDir(), "no.txt"))
	cmd.Env, cmd.Stderr = other, &openErr
	cmd.Run()
	http.Get(base + "/api/v1/drops/nope?code=" + sent.Code + "&key=" + token)

	stop()
	logs := relayLog.String() + openErr.String()
	if !strings.Contains(relayLog.String(), "request") {
		t.Fatalf("the relay logged no requests:\n%s", logs)
	}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("no %s captured", what)
		}
		for _, form := range []string{s, url.PathEscape(s), strings.ReplaceAll(s, "@", "%40")} {
			if i := strings.Index(logs, form); i >= 0 {
				start := strings.LastIndexByte(logs[:i], '\n') + 1
				end := strings.IndexByte(logs[i:], '\n')
				if end < 0 {
					end = len(logs) - i
				}
				t.Errorf("the %s appears in the logs: %s", what, logs[start:i+end])
				break
			}
		}
	}
}
