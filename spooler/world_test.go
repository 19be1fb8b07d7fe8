package spooler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// world is a real relay, a sender and a recipient, each with its own home,
// and a 'sealprint serve' that the test may kill and restart.
type world struct {
	t         *testing.T
	dir       string
	sealprint string
	sealrelay string
	relayData string
	relayAddr string
	sender    string // SEALPRINT_HOME of the sender
	recipient string // SEALPRINT_HOME of the recipient
	tmp       string // TMPDIR of every sealprint process
	addr      string // listen address of sealprint serve
	env       []string
	serveArgs []string

	mu    sync.Mutex
	serve *proc
	relay *proc
	logs  bytes.Buffer
}

// proc is a running child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited
}

func (w *world) spawn(env []string, name string, args ...string) *proc {
	w.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string(nil), w.env...), env...)
	cmd.Stdout, cmd.Stderr = lockedWriter{&w.mu, &w.logs}, lockedWriter{&w.mu, &w.logs}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p
}

// up waits until url answers (true) or p exits (false).
func (p *proc) up(url string) bool {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return false
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

const recipientEmail = "martin@police.example"

func newWorld(t *testing.T, serveArgs ...string) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), serveArgs: serveArgs}
	w.sealprint = testutil.Binary(t, "sealprint")
	w.sealrelay = testutil.Binary(t, "sealrelay")
	w.relayData = filepath.Join(w.dir, "relay")
	w.relayAddr = testutil.FreeAddr(t)
	w.sender = filepath.Join(w.dir, "sender")
	w.recipient = filepath.Join(w.dir, "recipient")
	w.tmp = filepath.Join(w.dir, "tmp")
	w.addr = testutil.FreeAddr(t)
	os.MkdirAll(w.tmp, 0o700)
	w.env = append(os.Environ(), "SEALPRINT_KEYRING=file", "TMPDIR="+w.tmp)
	t.Cleanup(func() {
		w.stopServe()
		w.stopRelay()
		if t.Failed() {
			t.Logf("logs (tail):\n%s", tail(w.logText(), 80))
		}
	})
	w.startRelay()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(w.run(nil, w.sealrelay, "token", "create", "--data", w.relayData, "--name", "Dr House", "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	w.sp(w.recipient, "keys", "generate", "--name", "Cdt Martin", "--email", recipientEmail)
	pub := filepath.Join(w.dir, "martin.asc")
	os.WriteFile(pub, []byte(w.sp(w.recipient, "keys", "export", recipientEmail)), 0o644)
	w.sp(w.sender, "keys", "generate", "--name", "Dr House", "--email", "house@hospital.example")
	w.sp(w.sender, "keys", "import", pub)
	w.sp(w.sender, "enroll", "--relay", "http://"+w.relayAddr, "--token", tok.Token)
	cfg, err := config.LoadFile(w.sender)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queues = append(cfg.Queues, config.Queue{Name: "martin", Recipients: []string{recipientEmail}})
	if err := config.Save(w.sender, cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) logText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// run runs a command and returns its stdout; it fails the test on error.
func (w *world) run(env []string, name string, args ...string) string {
	w.t.Helper()
	out, err := w.try(env, name, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) try(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string(nil), w.env...), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// sp runs sealprint with home as SEALPRINT_HOME.
func (w *world) sp(home string, args ...string) string {
	w.t.Helper()
	return w.run([]string{"SEALPRINT_HOME=" + home}, w.sealprint, args...)
}

// startRelay starts the relay and waits until it is healthy (retrying if
// it exits at once, e.g. while the port is still held by a dying one).
func (w *world) startRelay() {
	w.t.Helper()
	for i := 0; i < 50; i++ {
		p := w.spawn(nil, w.sealrelay, "serve", "--data", w.relayData, "--listen", w.relayAddr, "--public-url", "http://"+w.relayAddr)
		if p.up("http://" + w.relayAddr + "/healthz") {
			w.mu.Lock()
			w.relay = p
			w.mu.Unlock()
			return
		}
		p.cmd.Process.Kill()
		<-p.done
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatal("the relay does not start")
}

func (w *world) stopRelay() { w.kill(&w.relay) }

// startServe starts 'sealprint serve' and waits until it answers
// (retrying if it exits at once: a 'sealprint jobs' may hold the spool).
func (w *world) startServe() {
	w.t.Helper()
	args := append([]string{"serve", "--listen", w.addr}, w.serveArgs...)
	for i := 0; i < 100; i++ {
		p := w.spawn([]string{"SEALPRINT_HOME=" + w.sender}, w.sealprint, args...)
		if p.up("http://" + w.addr + "/ipp/print") {
			w.mu.Lock()
			w.serve = p
			w.mu.Unlock()
			return
		}
		p.cmd.Process.Kill()
		<-p.done
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatal("sealprint serve does not start")
}

func (w *world) stopServe() { w.kill(&w.serve) }

// kill SIGKILLs a process and reaps it.
func (w *world) kill(pp **proc) {
	w.mu.Lock()
	p := *pp
	*pp = nil
	w.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// jobView is a job as 'sealprint jobs --json' prints it.
type jobView struct {
	*spooler.Job
	Message string `json:"message"`
}

// jobs lists the sender's jobs (from the service, or the spool when it is
// down).
func (w *world) jobs() ([]jobView, error) {
	out, err := w.try([]string{"SEALPRINT_HOME=" + w.sender}, w.sealprint, "jobs", "--json")
	if err != nil {
		return nil, err
	}
	var jobs []jobView
	if err := json.Unmarshal([]byte(out), &jobs); err != nil {
		return nil, fmt.Errorf("jobs --json: %v: %q", err, out)
	}
	return jobs, nil
}

// printIPP sends one Print-Job to the service and reports whether it was
// acknowledged.
func printIPP(ctx context.Context, addr, queue, name string, doc []byte) error {
	uri := "ipp://" + addr + "/ipp/print/" + queue
	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpPrintJob, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en-us")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	// The account printing, as CUPS and Windows send it: the jobs page
	// shows the jobs of the service's own user.
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(osUser())))
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(name)))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	ans, err := ippCallBody(ctx, addr, "/ipp/print/"+queue, m, doc)
	if err != nil {
		return err
	}
	if goipp.Status(ans.Code) != goipp.StatusOk {
		return fmt.Errorf("IPP status %s", goipp.Status(ans.Code))
	}
	return nil
}

func ippCall(addr, path string, m *goipp.Message) (*goipp.Message, error) {
	return ippCallBody(context.Background(), addr, path, m, nil)
}

// ippCallBody posts an IPP request followed by a document.
func ippCallBody(ctx context.Context, addr, path string, m *goipp.Message, doc []byte) (*goipp.Message, error) {
	hdr, err := m.EncodeBytes()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+path, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ipp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ans goipp.Message
	if err := ans.Decode(resp.Body); err != nil {
		return nil, fmt.Errorf("decode IPP answer: %w", err)
	}
	return &ans, nil
}

// makePDF returns a small valid PDF whose page shows text.
func makePDF(text string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	stream := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", text)
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// scanForMarker walks dirs and reports the files containing marker.
func scanForMarker(dirs []string, marker []byte) []string {
	var hits []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, marker) {
				hits = append(hits, p)
			}
			return nil
		})
	}
	return hits
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// osUser is the name of the account running the tests.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "doctor"
}
