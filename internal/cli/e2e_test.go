package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// relayProc is a real `sealrelay serve` process.
type relayProc struct {
	url, data string
	cmd       *exec.Cmd
	logs      *lockedBuffer
}

// lockedBuffer is a log buffer a test may read while the process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startRelayProc(t *testing.T, extra ...string) *relayProc {
	t.Helper()
	return startRelayIn(t, t.TempDir(), extra...)
}

// startRelayIn runs a real 'sealrelay serve' on the data dir data (which
// may already hold keys or tokens).
func startRelayIn(t *testing.T, data string, extra ...string) *relayProc {
	t.Helper()
	bin := testutil.Binary(t, "sealrelay")
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--data", data, "--listen", addr, "--public-url", "http://" + addr, "--sweep-interval", "1s"}, extra...)...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("relay log:\n%s", logs.String())
		}
	})
	r := &relayProc{url: "http://" + addr, data: data, cmd: cmd, logs: logs}
	if err := waitHealthy(context.Background(), r.url); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *relayProc) token(t *testing.T, name string) string {
	out, err := exec.Command(testutil.Binary(t, "sealrelay"), "token", "create", "--data", r.data, "--name", name, "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Token == "" {
		t.Fatalf("token create printed %q", out)
	}
	return v.Token
}

// person runs the real sealprint binary with its own home directory.
type person struct {
	t    *testing.T
	home string
	dir  string
}

func newPerson(t *testing.T) *person {
	d := t.TempDir()
	return &person{t: t, home: filepath.Join(d, "home"), dir: d}
}

func (p *person) run(args ...string) (string, string, error) {
	cmd := exec.Command(testutil.Binary(p.t, "sealprint"), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+p.home, "SEALPRINT_KEYRING=file")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (p *person) must(args ...string) string {
	p.t.Helper()
	out, errs, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("sealprint %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}

func (p *person) fails(want string, args ...string) {
	p.t.Helper()
	_, errs, err := p.run(args...)
	if err == nil {
		p.t.Fatalf("sealprint %s succeeded, want an error containing %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(errs, want) {
		p.t.Fatalf("sealprint %s: error %q, want %q", strings.Join(args, " "), errs, want)
	}
	if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 0 && !strings.Contains(errs, "note:") {
		p.t.Fatalf("error is not one line: %q", errs)
	}
}

func (p *person) send(args ...string) sendResult {
	p.t.Helper()
	out := p.must(append([]string{"send", "--json"}, args...)...)
	var r sendResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		p.t.Fatalf("send printed %q", out)
	}
	return r
}

// TestSendOpenThroughRealRelay: send and open through a real sealrelay
// process, in key and link mode, with limits, expiry and tampering.
func TestSendOpenThroughRealRelay(t *testing.T) {
	testutil.NeedIntegration(t)
	relay := startRelayProc(t)
	doctor, officer, stranger := newPerson(t), newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	os.WriteFile(filepath.Join(doctor.dir, "durand.asc"), []byte(doctor.must("keys", "export", "durand@chu.example")), 0o644)
	os.WriteFile(filepath.Join(doctor.dir, "martin.asc"), []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	doctor.must("keys", "import", filepath.Join(doctor.dir, "martin.asc"))
	officer.must("keys", "import", filepath.Join(doctor.dir, "durand.asc"))

	doctor.fails("no relay configured", "send", "report.pdf", "--to", "martin@police.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))

	report := make([]byte, 3<<20)
	rand.Read(report)
	copy(report, "%PDF-1.7\nMARKER-PLAINTEXT-0042\n")
	copy(report[len(report)/2:], "MARKER-PLAINTEXT-0042")
	os.WriteFile(filepath.Join(doctor.dir, "report.pdf"), report, 0o644)

	t.Run("key mode", func(t *testing.T) {
		r := doctor.send("report.pdf", "--to", "martin@police.example")
		if r.Mode != "key" || strings.Contains(r.Link, "#") || r.SHA256 == "" {
			t.Fatalf("send result %+v", r)
		}
		out := officer.must("open", r.Link, "-o", "got.pdf")
		if !strings.Contains(out, "Good signature from Dr Durand <durand@chu.example>") || !strings.Contains(out, r.SHA256) {
			t.Fatalf("open printed %q", out)
		}
		got, _ := os.ReadFile(filepath.Join(officer.dir, "got.pdf"))
		if !bytes.Equal(got, report) {
			t.Fatal("document differs")
		}
		stranger.fails("no key to open this", "open", r.Link, "-o", "x.pdf")
		// Opening again (JSON) posts a receipt the relay accepts.
		var res openResult
		if err := json.Unmarshal([]byte(officer.must("open", r.Link, "-o", "again.pdf", "--json")), &res); err != nil {
			t.Fatal(err)
		}
		if !res.ReceiptSent || !res.Verified || res.SHA256 != r.SHA256 {
			t.Fatalf("open --json: %+v", res)
		}
	})

	t.Run("link mode with code and download limit", func(t *testing.T) {
		r := doctor.send("report.pdf", "--link", "--code", "--max-downloads", "1", "--to", "someone@police.example")
		if !strings.Contains(r.Link, "#") || len(r.Code) != 8 {
			t.Fatalf("send result %+v", r)
		}
		stranger.fails("access code", "open", r.Link, "-o", "a.pdf")
		stranger.fails("wrong code", "open", r.Link, "-o", "a.pdf", "--code", "00000000x")
		out := stranger.must("open", r.Link, "-o", "b.pdf", "--code", r.Code)
		if !strings.Contains(out, "Good signature from Dr Durand") {
			t.Fatalf("open printed %q", out)
		}
		got, _ := os.ReadFile(filepath.Join(stranger.dir, "b.pdf"))
		if !bytes.Equal(got, report) {
			t.Fatal("document differs")
		}
		// The limit was one download.
		stranger.fails("", "open", r.Link, "-o", "c.pdf", "--code", r.Code)
		if _, err := os.Stat(filepath.Join(stranger.dir, "c.pdf")); err == nil {
			t.Fatal("a document was written past the download limit")
		}
		// Without the fragment, the link opens nothing.
		stranger.fails("", "open", strings.Split(r.Link, "#")[0], "-o", "d.pdf")
	})

	t.Run("link mode, a link per recipient", func(t *testing.T) {
		r := doctor.send("report.pdf", "--link", "--to", "a@police.example", "--to", "B@justice.example", "--to", "a@police.example")
		if strings.Contains(r.Link, "#") || len(r.Links) != 2 || r.Links[0].Recipient != "a@police.example" || r.Links[1].Recipient != "b@justice.example" ||
			r.Links[0].Link == r.Links[1].Link || !strings.HasPrefix(r.Links[0].Link, r.Link+"#") || !strings.HasPrefix(r.Links[1].Link, r.Link+"#") {
			t.Fatalf("send result %+v", r)
		}
		for i, l := range r.Links {
			var res openResult
			if err := json.Unmarshal([]byte(stranger.must("open", l.Link, "-o", fmt.Sprintf("link%d.pdf", i), "--json")), &res); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(stranger.dir, fmt.Sprintf("link%d.pdf", i)))
			if !res.ReceiptSent || !res.Verified || !bytes.Equal(got, report) {
				t.Fatalf("link %d: %+v", i, res)
			}
		}
		// The text output gives each recipient its link.
		out := doctor.must("send", "report.pdf", "--link", "--to", "a@police.example", "--to", "b@justice.example")
		if strings.Count(out, "link:    ") != 2 || !strings.Contains(out, "(for b@justice.example only)") {
			t.Fatalf("send printed %q", out)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		r := doctor.send("report.pdf", "--to", "martin@police.example", "--expires", "2s")
		time.Sleep(3 * time.Second)
		officer.fails("expired", "open", r.Link, "-o", "late.pdf")
	})

	t.Run("tampered blob", func(t *testing.T) {
		r := doctor.send("report.pdf", "--to", "martin@police.example")
		id := r.ID
		var blob string
		filepath.Walk(relay.data, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.Contains(p, id) && info.Size() > 1<<20 && !strings.Contains(p, "upload") {
				blob = p
			}
			return nil
		})
		if blob == "" {
			t.Fatal("blob not found in the relay's data dir")
		}
		b, _ := os.ReadFile(blob)
		b[len(b)/2] ^= 1
		os.WriteFile(blob, b, 0o600)
		_, errs, err := officer.run("open", r.Link, "-o", "tampered.pdf")
		if err == nil {
			t.Fatal("tampered blob opened")
		}
		if !strings.Contains(errs, "tamper") && !strings.Contains(errs, "digest") && !strings.Contains(errs, "SHA-256") && !strings.Contains(errs, "sha256") {
			t.Fatalf("unclear error for a tampered blob: %q", errs)
		}
		if _, err := os.Stat(filepath.Join(officer.dir, "tampered.pdf")); err == nil {
			t.Fatal("tampered document written")
		}
	})

	t.Run("relay stores only ciphertext", func(t *testing.T) {
		filepath.Walk(relay.data, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte("MARKER-PLAINTEXT-0042")) {
				t.Errorf("plaintext marker found in %s", p)
			}
			return nil
		})
	})

	t.Run("drops list shows metadata only", func(t *testing.T) {
		out, err := exec.Command(testutil.Binary(t, "sealrelay"), "drops", "list", "--data", relay.data, "--json").Output()
		if err != nil {
			t.Fatal(err)
		}
		var drops []map[string]any
		if err := json.Unmarshal(out, &drops); err != nil || len(drops) < 4 {
			t.Fatalf("drops list: %v %s", err, out)
		}
	})
}

// TestDemo runs `sealprint demo` as a user would.
func TestDemo(t *testing.T) {
	testutil.NeedIntegration(t)
	cmd := exec.Command(testutil.Binary(t, "sealprint"), "demo")
	cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	steps := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "[") {
			steps++
		}
	}
	if steps < 7 || !strings.Contains(string(out), "demo passed") {
		t.Fatalf("demo output:\n%s", out)
	}
}
