package keyserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestRelayBinaryEndToEnd runs the real sealrelay (with --smtp to a real
// aiosmtpd) and sealprint: a recipient publishes a key by VKS upload and the
// mailed link; sealprint send to the unknown address finds the key and pins
// it; when the directory later offers another key for the address,
// sealprint keys refresh and keys lookup refuse it loudly.
func TestRelayBinaryEndToEnd(t *testing.T) {
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
	t.Cleanup(func() { relay.Process.Signal(os.Interrupt); relay.Wait() })
	waitHealthy(t, base, &relayLog)

	publish := func(name string) string {
		e := newEntity(t, name, "newuser@police.example")
		fpr := hexOf(e.PrimaryKey.Fingerprint)
		up := postJSON(t, base+"/vks/v1/upload", map[string]string{"keytext": armorPublic(t, e)})
		n := len(smtpd.Messages(t))
		postJSON(t, base+"/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{"newuser@police.example"}})
		// The drop notification of an earlier send may arrive in between:
		// take the first later message that holds a verification link.
		msg := smtpd.WaitMessage(t, n, func(m testutil.ReceivedMail) bool {
			return linkPattern.MatchString(qpDecode(m.Data))
		})
		body, _ := io.ReadAll(msg.Message(t).Body)
		follow(t, linkIn(t, qpDecode(string(body))))
		return fpr
	}

	if code := getCode(t, base+"/vks/v1/by-email/newuser@police.example"); code != 404 {
		t.Fatalf("by-email before publishing: %d", code)
	}
	first := publish("New User")
	if code := getCode(t, base+"/vks/v1/by-email/newuser@police.example"); code != 200 {
		t.Fatalf("by-email after publishing: %d", code)
	}

	// Administration while the relay runs: preload a unit's key, list,
	// unpublish, restrict domains.
	unit := newEntity(t, "Unit", "unit@police.example")
	unitFile := filepath.Join(t.TempDir(), "unit.asc")
	os.WriteFile(unitFile, []byte(armorPublic(t, unit)), 0o600)
	out := run(t, nil, relayBin, "keys", "import", "--verified", unitFile, "--data", data)
	if !strings.Contains(out, hexOf(unit.PrimaryKey.Fingerprint)+"\tunit@police.example") {
		t.Fatalf("import output %q", out)
	}
	if code := getCode(t, base+"/vks/v1/by-email/unit@police.example"); code != 200 {
		t.Fatalf("preloaded key not served: %d", code)
	}
	if out := run(t, nil, relayBin, "keys", "list", "--data", data); !strings.Contains(out, "unit@police.example") {
		t.Fatalf("list %q", out)
	}
	run(t, nil, relayBin, "keys", "unpublish", "unit@police.example", "--data", data)
	if code := getCode(t, base+"/vks/v1/by-email/unit@police.example"); code != 404 {
		t.Fatalf("unpublished key still served: %d", code)
	}
	run(t, nil, relayBin, "keys", "domains", "--set", "chu.example", "--data", data)
	b, _ := json.Marshal(map[string]string{"keytext": armorPublic(t, unit)})
	resp, err := http.Post(base+"/vks/v1/upload", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("upload outside the allowed domains: %d", resp.StatusCode)
	}
	run(t, nil, relayBin, "keys", "domains", "--clear", "--data", data)

	home := t.TempDir()
	token := strings.TrimSpace(run(t, nil, relayBin, "token", "create", "--data", data, "--name", "Dr A"))
	env := append(os.Environ(), "SEALPRINT_HOME="+home, "SEALPRINT_RELAY="+base, "SEALPRINT_TOKEN="+token)
	run(t, env, printBin, "keys", "generate", "--name", "Dr A", "--email", "a@chu.example")
	doc := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(doc, []byte("report"), 0o600)

	// Sending to an unknown address found only in the relay's directory
	// is refused until its fingerprint is confirmed; then it is pinned.
	out, err = runErr(env, printBin, "send", "--to", "newuser@police.example", doc)
	if err == nil || !strings.Contains(out, "--accept-new-key "+first) {
		t.Fatalf("first send without confirmation: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "keys", "pins.json")); strings.Contains(string(b), "newuser") {
		t.Fatalf("pinned without confirmation: %s", b)
	}
	// keys lookup shows a first key without pinning it, and pins it once
	// confirmed; the printed job's path.
	out = run(t, env, printBin, "keys", "lookup", "newuser@police.example")
	if !strings.Contains(out, "not pinned") || !strings.Contains(out, "--accept-new-key "+first) {
		t.Fatalf("keys lookup of a first key: %s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "keys", "pins.json")); strings.Contains(string(b), "newuser") {
		t.Fatalf("keys lookup pinned without confirmation: %s", b)
	}
	run(t, env, printBin, "send", "--to", "newuser@police.example", "--accept-new-key", first, doc)
	var pins map[string]string
	b, err = os.ReadFile(filepath.Join(home, "keys", "pins.json"))
	if err != nil || json.Unmarshal(b, &pins) != nil || pins["newuser@police.example"] != first {
		t.Fatalf("pin after send: %s %v", b, err)
	}

	// The address now names another key in the directory.
	second := publish("Impostor")
	if second == first {
		t.Fatal("same key twice")
	}
	out, err = runErr(env, printBin, "keys", "refresh")
	if err == nil || !strings.Contains(out, "KEY CHANGED") || !strings.Contains(out, second) {
		t.Fatalf("refresh after key change: %v\n%s", err, out)
	}
	out, err = runErr(env, printBin, "keys", "lookup", "newuser@police.example")
	if err == nil || !strings.Contains(out, "KEY CHANGED") {
		t.Fatalf("lookup after key change: %v\n%s", err, out)
	}
	b, _ = os.ReadFile(filepath.Join(home, "keys", "pins.json"))
	if !strings.Contains(string(b), first) {
		t.Fatalf("pin changed without consent: %s", b)
	}
}

func waitHealthy(t *testing.T, base string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("relay did not start:\n%s", log)
}

func postJSON(t *testing.T, u string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", u, resp.StatusCode, out)
	}
	return out
}

func getCode(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func runErr(env []string, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func run(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
