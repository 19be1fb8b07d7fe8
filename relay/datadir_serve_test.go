package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// TestServeOwnsDataDir runs the real binary: a second `sealrelay serve` on
// a data dir that one already serves is refused, naming the first one's
// pid; and while one serves, `token create` in a loop, drops made with the
// new tokens and `audit verify` in a loop all succeed, and the audit log
// verifies after the relay stops.
func TestServeOwnsDataDir(t *testing.T) {
	testutil.NeedIntegration(t)
	bin := testutil.Binary(t, "sealrelay")
	data := filepath.Join(t.TempDir(), "data")
	first := startServe(t, bin, data)

	// The second one must end by itself, refused.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr := testutil.FreeAddr(t)
	out, err := exec.CommandContext(ctx, bin, "serve", "--data", data, "--listen", addr, "--public-url", "http://"+addr).CombinedOutput()
	want := "le répertoire de données " + data + " est déjà utilisé par un autre sealrelay (pid " + strconv.Itoa(first.cmd.Process.Pid) + ")"
	if ctx.Err() != nil || err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("second serve on the same data dir: %v (context %v)\n%s", err, ctx.Err(), out)
	}

	tokens := make(chan string, 64)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	done := make(chan struct{})
	wg.Add(2)
	go func() { // the operator enrols senders while the relay runs
		defer wg.Done()
		defer close(tokens)
		for i := range 12 {
			out, err := exec.Command(bin, "token", "create", "--data", data, "--sender", "Dr "+strconv.Itoa(i)).Output()
			if err != nil {
				errs <- "token create: " + err.Error()
				return
			}
			tokens <- strings.TrimSpace(string(out))
		}
	}()
	go func() { // and checks the log while the relay appends to it
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if out, err := exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput(); err != nil {
				errs <- "audit verify while serving: " + err.Error() + "\n" + string(out)
				return
			}
		}
	}()
	drops := 0
	for tok := range tokens {
		first.drop(t, tok)
		drops++
	}
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if drops != 12 {
		t.Fatalf("%d drops made with tokens created while serving", drops)
	}
	first.stop(t)
	out, err = exec.Command(bin, "audit", "verify", "--data", data, "--json").Output()
	var rep struct {
		OK      bool  `json:"ok"`
		Lines   int64 `json:"lines"`
		Partial int64 `json:"partial_line_bytes"`
	}
	if err != nil || json.Unmarshal(out, &rep) != nil || !rep.OK || rep.Partial != 0 || rep.Lines < 5*12 {
		t.Fatalf("audit verify after the relay stopped: %v %+v\n%s", err, rep, out)
	}
	// Once it stopped, the data dir is free again.
	again := startServe(t, bin, data)
	again.stop(t)
}

// serveProc is a running `sealrelay serve`.
type serveProc struct {
	cmd    *exec.Cmd
	base   string
	exited chan error
	logs   *syncBuffer
}

func startServe(t *testing.T, bin, data string) *serveProc {
	t.Helper()
	addr := testutil.FreeAddr(t)
	p := &serveProc{base: "http://" + addr, exited: make(chan error, 1), logs: &syncBuffer{}}
	p.cmd = exec.Command(bin, "serve", "--data", data, "--listen", addr, "--public-url", p.base, "--metrics-listen", "")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		p.exited <- nil // for a later cleanup's read
		if t.Failed() {
			t.Logf("relay log:\n%s", p.logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("sealrelay serve exited: %v\n%s", err, p.logs.String())
		case <-ctx.Done():
			t.Fatalf("relay not healthy\n%s", p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the relay as an operator does (SIGTERM) and waits for it.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exited; err != nil {
		t.Fatalf("relay stopped with %v\n%s", err, p.logs.String())
	}
	p.exited <- nil
}

// drop makes a drop with token, uploads, completes and downloads it.
func (p *serveProc) drop(t *testing.T, token string) {
	t.Helper()
	ct := randomBytes(t, 2048)
	call := func(method, path string, body []byte, status int, hdr ...string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, p.base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return expect(t, resp, b, status)
	}
	reqBody, _ := json.Marshal(relayapi.CreateDropRequest{Size: int64(len(ct)), SHA256: hexSHA(ct), Mode: "key"})
	c := decode[relayapi.CreateDropResponse](t, call("POST", "/api/v1/drops", reqBody, http.StatusCreated, "Content-Type", "application/json"))
	call("POST", "/api/v1/uploads/", nil, http.StatusCreated, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(ct)),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(c.ID)))
	call("PATCH", c.UploadURL, ct, http.StatusNoContent, "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
		"Content-Type", "application/offset+octet-stream")
	call("POST", "/api/v1/drops/"+c.ID+"/complete", nil, http.StatusOK)
	if got := call("GET", "/api/v1/drops/"+c.ID+"/blob", nil, http.StatusOK); !bytes.Equal(got, ct) {
		t.Fatalf("drop %s downloads other bytes", c.ID)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's
// reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
