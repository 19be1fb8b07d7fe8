package keyserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

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

	// The same through sealprint serve, its log in a file: a printed job
	// released in link mode with a code on the jobs API, another to the
	// published key (a by-email lookup), and the link opened with the code.
	run(t, env, printBin, "keys", "lookup", who, "--accept-new-key", fmt.Sprintf("%X", e.PrimaryKey.Fingerprint))
	serveLog := serveDelivery(t, env, printBin, home, other, who, secrets)

	stop()
	logs := relayLog.String() + openErr.String() + serveLog
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

// serveDelivery runs sealprint serve for home with its log captured to a
// file, prints two jobs to the held queue over IPP, releases one in link
// mode with an access code and the other to keyed (the published key),
// opens the link with the code, stops serve and returns its log. The
// secrets it handles are added to secrets.
func serveDelivery(t *testing.T, env []string, printBin, home string, openEnv []string, keyed string, secrets map[string]string) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr := testutil.FreeAddr(t)
	const nokey = "no-key-person@police.example"
	secrets["keyless recipient"] = nokey
	serve := exec.Command(printBin, "serve", "--listen", addr, "--poll", "1s")
	run(t, env, printBin, "queues", "add", "nokey", "--to", nokey)
	serve.Env, serve.Stdout, serve.Stderr = env, logFile, logFile
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			serve.Process.Signal(os.Interrupt)
			<-exited
		}
	}
	t.Cleanup(stop)
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	base := "http://" + addr
	secret := ""
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(home, "jobs-secret"))
		if err == nil {
			if resp, err := http.Get(base + "/ipp/print"); err == nil {
				resp.Body.Close()
				secret = strings.TrimSpace(string(b))
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, readLog())
		case <-time.After(100 * time.Millisecond):
		}
		if i > 600 {
			t.Fatalf("serve did not start:\n%s", readLog())
		}
	}
	secrets["jobs page secret"] = secret
	api := func(method, path string, in any, out any) {
		t.Helper()
		var body io.Reader
		if in != nil {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s\n%s", method, path, resp.Status, b, readLog())
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
	}
	type job struct {
		ID         string `json:"id"`
		State      string `json:"state"`
		Name       string `json:"name"`
		SecretLink string `json:"secret_link"`
		AccessCode string `json:"access_code"`
		Message    string `json:"message"`
	}
	// waitJob polls the jobs API until job id (or the job named name)
	// reaches one of the states.
	waitJob := func(id, name string, states ...string) job {
		t.Helper()
		for i := 0; ; i++ {
			var list []job
			api("GET", "/jobs/api", nil, &list)
			for _, j := range list {
				if (j.ID == id || (id == "" && j.Name == name)) && slicesContains(states, j.State) {
					return j
				}
			}
			if i > 1200 {
				t.Fatalf("job %s%s never reached %v: %+v\n%s", id, name, states, list, readLog())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	printTo := func(queue, name string, states ...string) job {
		t.Helper()
		m := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 1)
		m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
		m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("fr")))
		m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String("ipp://"+addr+"/ipp/print/"+queue)))
		m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(name)))
		m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("text/plain")))
		b, err := m.EncodeBytes()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(base+"/ipp/print/"+queue, "application/ipp", bytes.NewReader(append(b, "Rapport MARKER-LOGS\n"...)))
		if err != nil {
			t.Fatal(err)
		}
		var r goipp.Message
		err = r.Decode(resp.Body)
		resp.Body.Close()
		if err != nil || goipp.Status(r.Code) != goipp.StatusOk {
			t.Fatalf("Print-Job %s: %v %v\n%s", name, err, goipp.Status(r.Code), readLog())
		}
		return waitJob("", name, states...)
	}
	print := func(name string) job { return printTo("sealed", name, "held") }

	const rcpt = "serve-recipient@police.example"
	secrets["serve link recipient"] = rcpt
	linked := print("link job")
	var rel job
	api("POST", "/jobs/api/"+linked.ID+"/release", map[string]any{"to": []string{rcpt}, "mode": "link", "code": true}, &rel)
	if rel.AccessCode == "" {
		t.Fatalf("release gave no access code: %+v", rel)
	}
	secrets["serve access code"] = rel.AccessCode
	up := waitJob(linked.ID, "", "uploaded", "delivered")
	if !strings.Contains(up.SecretLink, "#") {
		t.Fatalf("uploaded job has no secret link: %+v", up)
	}
	secrets["serve link secret"] = up.SecretLink[strings.Index(up.SecretLink, "#")+1:]

	keyedJob := print("keyed job")
	api("POST", "/jobs/api/"+keyedJob.ID+"/release", map[string]any{"to": []string{keyed}}, nil)
	waitJob(keyedJob.ID, "", "uploaded", "delivered")

	// A fixed-recipient queue to an address without any key: the job
	// fails in the background, and serve logs why.
	failing := printTo("nokey", "keyless job", "failed", "held")
	t.Logf("keyless job: %s: %s", failing.State, failing.Message)
	// The jobs page signed in with the secret in the address, and with a
	// wrong one.
	for _, k := range []string{secret, "wrong-" + secret[:8]} {
		if resp, err := http.Get(base + "/jobs?key=" + url.QueryEscape(k)); err == nil {
			resp.Body.Close()
		}
	}

	var openErr bytes.Buffer
	cmd := exec.Command(printBin, "open", up.SecretLink, "--code", rel.AccessCode, "-o", filepath.Join(t.TempDir(), "got.txt"))
	cmd.Env, cmd.Stderr = openEnv, &openErr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("open: %v\n%s%s", err, out, openErr.String())
	}
	waitJob(linked.ID, "", "delivered")
	stop()
	log := readLog()
	t.Logf("serve's log:\n%s", log)
	if !strings.Contains(log, "sealprint serving") {
		t.Fatalf("serve's log is empty:\n%s", log)
	}
	return log + openErr.String()
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
