package recipient_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// firefox is a Firefox ESR driven over WebDriver BiDi by
// browsertest/driver.mjs (puppeteer-core), one JSON command per line.
type firefox struct {
	t           *testing.T
	cmd         *exec.Cmd
	in          io.WriteCloser
	mu          sync.Mutex
	next        int
	replies     chan ffReply
	pid         int    // the browser's main process
	DownloadDir string // where "Save" lands
	done        atomic.Bool
}

type ffReply struct {
	ID    int             `json:"id"`
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
	Event string          `json:"event"`
	Text  string          `json:"text"`
}

// startFirefox starts node, the driver and Firefox ESR. Under
// SEALPRINT_INTEGRATION=1 a missing firefox-esr, node or npm package fails
// the test (scripts/test installs them).
func startFirefox(t *testing.T) *firefox {
	t.Helper()
	testutil.NeedIntegration(t)
	exe := testutil.NeedTool(t, "firefox-esr")
	node := testutil.NeedTool(t, "node")
	dir := filepath.Join(testutil.ModuleRoot(), "web", "recipient", "browsertest")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		if testutil.Integration() {
			t.Fatalf("puppeteer-core not installed in %s (scripts/test runs npm ci there)", dir)
		}
		t.Skip("puppeteer-core not installed; run npm ci in web/recipient/browsertest")
	}
	f := &firefox{t: t, replies: make(chan ffReply, 16), DownloadDir: t.TempDir()}
	f.cmd = exec.Command(node, "--no-warnings", filepath.Join(dir, "driver.mjs"))
	f.cmd.Dir = dir
	f.cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1")
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f.cmd.Stderr = &testLogWriter{t: t, prefix: "driver: ", done: &f.done}
	var err error
	if f.in, err = f.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("start node driver: %v", err)
	}
	t.Cleanup(f.stop)
	go f.read(out)
	var launched struct {
		PID     int    `json:"pid"`
		Version string `json:"version"`
	}
	f.call(&launched, map[string]any{"op": "launch", "executable": exe, "downloadDir": f.DownloadDir, "profile": t.TempDir()})
	f.pid = launched.PID
	t.Logf("firefox %s, pid %d", launched.Version, f.pid)
	return f
}

func (f *firefox) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var r ffReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			if !f.done.Load() {
				f.t.Logf("driver said %q", sc.Text())
			}
			continue
		}
		if r.Event != "" {
			if !f.done.Load() {
				f.t.Logf("firefox %s", r.Text)
			}
			continue
		}
		f.replies <- r
	}
	close(f.replies)
}

func (f *firefox) stop() {
	f.done.Store(true)
	f.in.Close() // the driver closes the browser and exits
	exited := make(chan struct{})
	go func() { f.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL) // our own process group only
		<-exited
	}
}

// call sends one command and decodes its value into v (may be nil).
func (f *firefox) call(v any, cmd map[string]any) {
	f.t.Helper()
	if err := f.try(v, cmd); err != nil {
		f.t.Fatal(err)
	}
}

func (f *firefox) try(v any, cmd map[string]any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	cmd["id"] = f.next
	b, _ := json.Marshal(cmd)
	if _, err := f.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("firefox %s: %w", cmd["op"], err)
	}
	r, ok := <-f.replies
	if !ok {
		return fmt.Errorf("firefox %s: the driver exited", cmd["op"])
	}
	if r.ID != f.next {
		return fmt.Errorf("firefox %s: reply %d to command %d", cmd["op"], r.ID, f.next)
	}
	if !r.OK {
		return fmt.Errorf("firefox %s: %s", cmd["op"], r.Error)
	}
	if v != nil && len(r.Value) > 0 {
		if err := json.Unmarshal(r.Value, v); err != nil {
			return fmt.Errorf("firefox %s: decode %s: %w", cmd["op"], r.Value, err)
		}
	}
	return nil
}

// ffPage is one tab in its own browser context (own storage) unless made
// with sibling.
type ffPage struct {
	f    *firefox
	t    *testing.T
	name string
}

func (f *firefox) page(t *testing.T) *ffPage {
	t.Helper()
	var name string
	if err := f.try(&name, map[string]any{"op": "page"}); err != nil {
		t.Fatal(err)
	}
	p := &ffPage{f: f, t: t, name: name}
	t.Cleanup(func() { f.try(nil, map[string]any{"op": "close", "page": name}) })
	return p
}

// sibling opens another tab sharing p's storage (a key saved in p is there).
func (p *ffPage) sibling() *ffPage {
	p.t.Helper()
	var name string
	if err := p.f.try(&name, map[string]any{"op": "sibling", "page": p.name}); err != nil {
		p.t.Fatal(err)
	}
	return &ffPage{f: p.f, t: p.t, name: name}
}

func (p *ffPage) do(v any, op string, kv ...any) {
	p.t.Helper()
	cmd := map[string]any{"op": op, "page": p.name}
	for i := 0; i+1 < len(kv); i += 2 {
		cmd[kv[i].(string)] = kv[i+1]
	}
	if err := p.f.try(v, cmd); err != nil {
		p.t.Fatal(err)
	}
}

func (p *ffPage) goto_(url string)            { p.do(nil, "goto", "url", url) }
func (p *ffPage) click(sel string)            { p.do(nil, "click", "sel", sel) }
func (p *ffPage) typeIn(sel, text string)     { p.do(nil, "type", "sel", sel, "text", text) }
func (p *ffPage) upload(sel string, f string) { p.do(nil, "upload", "sel", sel, "files", []string{f}) }
func (p *ffPage) press(key string)            { p.do(nil, "press", "key", key) }

// str evaluates a JavaScript expression to a string.
func (p *ffPage) str(expr string) string {
	p.t.Helper()
	var s string
	p.do(&s, "eval", "expr", `(async () => { const v = await (`+expr+`); return v == null ? "" : String(v); })()`)
	return s
}

// waitState waits for one of the end states or the given states, and fails
// unless it is one of the given ones. A page waiting for "Open the
// document" (ready) is clicked through, as a person would, unless ready is
// among states.
func (p *ffPage) waitState(states ...string) string {
	t := p.t
	t.Helper()
	wait := func(extra ...string) string {
		all := append(append([]string{"decrypted", "error", "locked", "expired", "altered"}, extra...), states...)
		list, _ := json.Marshal(all)
		var got string
		p.do(&got, "wait", "expr", `(s => `+string(list)+`.includes(s) ? s : null)(document.documentElement.dataset.state)`, "timeout", 300000)
		return got
	}
	got := wait("ready")
	if got == "ready" && !slices.Contains(states, "ready") {
		p.click("#open-btn")
		got = wait()
	}
	for _, s := range states {
		if got == s {
			return got
		}
	}
	t.Fatalf("firefox: page state %q (reason %q), want one of %v", got, p.str(`document.documentElement.dataset.reason`), states)
	return ""
}

// poll waits until expr is truthy and returns it as a string.
func (p *ffPage) poll(expr string) string {
	p.t.Helper()
	var v any
	p.do(&v, "wait", "expr", expr, "timeout", 300000)
	return fmt.Sprint(v)
}

// axe runs axe-core's WCAG 2.1 A/AA rules on the page and fails on any
// violation.
func (p *ffPage) axe(state string) {
	t := p.t
	t.Helper()
	var res axeResult
	p.do(&res, "axe")
	if res.Passes == 0 {
		t.Fatalf("firefox axe, state %s: no rule ran", state)
	}
	for _, v := range res.Violations {
		t.Errorf("firefox axe, state %s: %s (%s): %s at %s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
	}
}

// axeResult is what the tests keep of an axe-core run.
type axeResult struct {
	Passes     int
	Violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
}

// treeRSSByPid returns the VmRSS of pid and of each of its descendants.
func treeRSSByPid(pid int) map[int]int64 {
	children := map[int][]int{}
	rss := map[int]int64{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				pp, _ := strconv.Atoi(strings.TrimSpace(v))
				children[pp] = append(children[pp], p)
			}
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss[p] = kb << 10
			}
		}
	}
	out := map[int]int64{}
	var walk func(int)
	walk = func(p int) {
		out[p] = rss[p]
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return out
}

// processRole names a browser process from its command line: Firefox's
// content process type (its last argument: tab, socket, rdd…), Chromium's
// --type, or "main".
func processRole(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "gone"
	}
	// Firefox's forked processes rewrite their argv as one string.
	args := strings.Fields(strings.ReplaceAll(string(b), "\x00", " "))
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--type="); ok {
			return v
		}
	}
	if slices.Contains(args, "-contentproc") && len(args) > 0 {
		return "content:" + args[len(args)-1]
	}
	return "main"
}

// testLogWriter forwards a child's stderr to the test log until the test ends.
type testLogWriter struct {
	t      *testing.T
	prefix string
	done   *atomic.Bool
}

func (w *testLogWriter) Write(b []byte) (int, error) {
	if !w.done.Load() {
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			w.t.Log(w.prefix + line)
		}
	}
	return len(b), nil
}
