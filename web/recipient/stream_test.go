package recipient_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/internal/testutil"
)

// bigDoc is a large link-mode document sent by the real `sealprint send`
// (which seals it streaming) through the real relay.
type bigDoc struct {
	name   string
	size   int64  // plaintext bytes
	sha256 string // of the plaintext
	link   string
	blob   string // the ciphertext in the relay's data dir
}

// streamMB is the large document's size: 64 MiB under ./scripts/test, or
// SEALPRINT_STREAM_MB (scripts/bench web runs 50 and 600).
func streamMB() int {
	if v, err := strconv.Atoi(os.Getenv("SEALPRINT_STREAM_MB")); err == nil && v > 0 {
		return v
	}
	return 64
}

// bigMB is the size of TestStreamBig*'s document: 600 MiB, as the issue
// asks, or SEALPRINT_STREAM_MB.
func bigMB() int {
	if v, err := strconv.Atoi(os.Getenv("SEALPRINT_STREAM_MB")); err == nil && v > 0 {
		return v
	}
	return 600
}

// writeBig writes mb MiB of pseudo-random "PDF" into the doctor's
// directory, streaming, and returns its SHA-256.
func writeBig(t *testing.T, r *realRelay, name string, mb int) (int64, string) {
	t.Helper()
	size := int64(mb) << 20
	f, err := os.Create(filepath.Join(r.doctor.wd, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	src := io.MultiReader(stringReader("%PDF-1.7\n"), rand.NewChaCha8([32]byte{1, 9, 6, 4}))
	if _, err := io.CopyN(bw, src, size); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return size, hex.EncodeToString(h.Sum(nil))
}

// sendBig sends the large document as a link-mode drop; tamper flips one
// byte in the middle of the ciphertext the relay stores.
func sendBig(t *testing.T, r *realRelay, mb int, tamper bool) *bigDoc {
	t.Helper()
	d := &bigDoc{name: "scelle-volumineux.pdf"}
	if _, err := os.Stat(filepath.Join(r.doctor.wd, d.name)); err != nil {
		writeBig(t, r, d.name, mb)
	}
	d.size, d.sha256 = fileSHA256(t, filepath.Join(r.doctor.wd, d.name))
	s := r.doctor.send(d.name, "--link", "--to", r.officerMail)
	if s.SHA256 != d.sha256 {
		t.Fatalf("send printed %s, the file hashes to %s", s.SHA256, d.sha256)
	}
	d.link = s.Link
	filepath.WalkDir(r.dataDir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && e.Name() == s.ID {
			d.blob = p
		}
		return nil
	})
	if d.blob == "" {
		t.Fatalf("blob of %s not found in the relay's data dir", s.ID)
	}
	if tamper {
		f, err := os.OpenFile(d.blob, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		b := make([]byte, 1)
		f.ReadAt(b, st.Size()/2)
		b[0] ^= 0x20
		if _, err := f.WriteAt(b, st.Size()/2); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return d
}

type stringReader string

func (s stringReader) Read(p []byte) (int, error) { return copy(p, s), io.EOF }

// rssPeak is the peak of a browser's summed RSS and each process's own peak.
type rssPeak struct {
	total int64
	per   map[int]int64
	role  map[int]string
}

// String lists the processes whose RSS grew most above idle.
func (p rssPeak) String(idle map[int]int64) string {
	type proc struct {
		pid  int
		grew int64
	}
	var ps []proc
	for pid, v := range p.per {
		ps = append(ps, proc{pid, v - idle[pid]})
	}
	slices.SortFunc(ps, func(a, b proc) int { return int(b.grew>>20) - int(a.grew>>20) })
	var parts []string
	for i, x := range ps {
		if i == 4 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d +%d MiB", p.role[x.pid], x.pid, x.grew>>20))
	}
	return strings.Join(parts, ", ")
}

// peakRSS samples the browser's processes every 50 ms until stop is closed
// and returns the peaks.
func peakRSS(procs func() map[int]int64, stop <-chan struct{}) <-chan rssPeak {
	out := make(chan rssPeak, 1)
	go func() {
		pk := rssPeak{per: map[int]int64{}, role: map[int]string{}}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var sum int64
			for pid, v := range procs() {
				sum += v
				if _, ok := pk.role[pid]; !ok {
					pk.role[pid] = processRole(pid)
				}
				pk.per[pid] = max(pk.per[pid], v)
			}
			pk.total = max(pk.total, sum)
			select {
			case <-stop:
				out <- pk
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// fileSHA256 hashes a file, streaming.
func fileSHA256(t *testing.T, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// waitSize waits until path holds size bytes (a download finishing).
func waitSize(t *testing.T, path string, size int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() == size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %d bytes", path, size)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNoGoodFile fails if dir holds a file under the document's name with
// the document's full content.
func checkNoGoodFile(t *testing.T, dir string, d *bigDoc) {
	t.Helper()
	time.Sleep(2 * time.Second) // let the download manager settle on failure
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		t.Logf("after tampering the download dir holds %s (%d bytes)", e.Name(), st.Size())
		if e.Name() == d.name && st.Size() >= d.size {
			t.Errorf("a complete file %s was left as if good", e.Name())
		}
	}
}

// TestStreamFirefox: a large link-mode drop (64 MiB) streams to disk in
// Firefox ESR (private file handed to the downloads once verified, ranges
// from the real relay) with the right SHA-256; a tampered one ends as
// "altered" with no good-looking file. The RSS bound is logged, enforced
// by TestStreamBigFirefox: at 64 MiB the fixed cost of the browser's
// processes is a large part of it.
func TestStreamFirefox(t *testing.T) {
	streamFirefox(t, streamMB(), os.Getenv("SEALPRINT_STREAM_RSS") == "strict")
}

// TestStreamBigFirefox: the same at 600 MiB, with the browser's peak RSS
// (all its processes, from /proc) under 1.5× the document above idle.
// It runs with SEALPRINT_BIG=1, which ./scripts/test and scripts/bench web
// set: it takes GBs of temporary disk and, on a quiet 2-core machine,
// 83 s for Firefox's intact and tampered cases and 51 s for Chromium's,
// most of it sealing, uploading and opening 600 MiB twice per browser.
func TestStreamBigFirefox(t *testing.T) {
	needBig(t)
	streamFirefox(t, bigMB(), true)
}

// TestStreamChromium: TestStreamFirefox in Chromium. The File System
// Access picker's dialog cannot be driven headless, so the test forces the
// private-storage path (?sink=storage, test pages only), or the
// service-worker download with SEALPRINT_STREAM_SINK=download.
func TestStreamChromium(t *testing.T) {
	streamChromium(t, streamMB(), os.Getenv("SEALPRINT_STREAM_RSS") == "strict", chromiumSink())
}

// chromiumSink is the sink the Chromium tests force: private storage, or
// the service-worker download with SEALPRINT_STREAM_SINK=download.
func chromiumSink() string {
	if os.Getenv("SEALPRINT_STREAM_SINK") == "download" {
		return "download"
	}
	return "storage"
}

// TestStreamChromiumDownload: the service-worker download (the sink of a
// browser without the picker or private storage) with a document just
// above the inline limit, written with sink.js's overlapping batches.
func TestStreamChromiumDownload(t *testing.T) {
	streamChromium(t, 40, false, "download")
}

// TestStreamBigChromium: TestStreamBigFirefox in Chromium.
func TestStreamBigChromium(t *testing.T) {
	needBig(t)
	streamChromium(t, bigMB(), true, chromiumSink())
}

func needBig(t *testing.T) {
	t.Helper()
	testutil.NeedIntegration(t)
	if os.Getenv("SEALPRINT_BIG") != "1" {
		t.Skip("600 MiB documents: run with SEALPRINT_BIG=1 (./scripts/test and scripts/bench web do)")
	}
}

func streamFirefox(t *testing.T, mb int, strict bool) {
	ff := startFirefox(t)
	r := startRealRelay(t)
	b := &streamBrowser{
		mb:     mb,
		strict: strict,
		sink:   "storage",
		dir:    ff.DownloadDir,
		procs:  func() map[int]int64 { return treeRSSByPid(ff.pid) },
		open: func(t *testing.T, url string) browserPage {
			p := ff.page(t)
			p.goto_(url)
			return p
		},
	}
	b.run(t, r, "firefox")
}

func streamChromium(t *testing.T, mb int, strict bool, sink string) {
	e := newBrowserEnv(t)
	r := startRealRelay(t)
	dir := t.TempDir()
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	pid := chromedp.FromContext(ctx).Browser.Process().Pid
	b := &streamBrowser{
		mb:     mb,
		strict: strict,
		sink:   sink,
		dir:    dir,
		procs:  func() map[int]int64 { return treeRSSByPid(pid) },
		open: func(t *testing.T, url string) browserPage {
			tctx, cancelT := context.WithTimeout(ctx, 10*time.Minute)
			t.Cleanup(cancelT)
			url = withQuery(url, "sink="+sink)
			if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			return &cdpPage{t: t, ctx: tctx}
		},
	}
	b.run(t, r, "chromium")
}

// browserPage is what the streaming test needs of a tab in either browser.
type browserPage interface {
	waitState(states ...string) string
	click(sel string)
	str(expr string) string
	poll(expr string) string
}

// cdpPage is a Chromium tab driven by chromedp.
type cdpPage struct {
	t   *testing.T
	ctx context.Context
}

func (p *cdpPage) waitState(states ...string) string {
	p.t.Helper()
	wait := func(extra ...string) string {
		got, err := runState(p.ctx, append(append([]string{"decrypted", "error", "locked", "expired", "altered"}, extra...), states...)...)
		if err != nil {
			p.t.Fatalf("waiting for state %v: %v", states, err)
		}
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
	p.t.Fatalf("chromium: page state %q (reason %q), want one of %v", got, p.str(`document.documentElement.dataset.reason`), states)
	return ""
}

func (p *cdpPage) click(sel string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatal(err)
	}
}

func (p *cdpPage) str(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(() => { const v = (`+expr+`); return v == null ? "" : String(v); })()`))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

func (p *cdpPage) poll(expr string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stateWait)
	defer cancel()
	v, err := retryTransient(ctx, func() (string, error) {
		return chromedp.Run(ctx, chromedp.Poll[string](`(() => { const v = (`+expr+`); return v ? String(v) : null; })()`, chromedp.WithPollingTimeout(0)))
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// wantEngine is what runs the workers' loops: WebAssembly, or JavaScript
// when SEALPRINT_BENCH_ENGINE=js (scripts/bench web, to compare).
func wantEngine() string {
	if os.Getenv("SEALPRINT_BENCH_ENGINE") == "js" {
		return "js"
	}
	return "wasm"
}

// withEngine adds engine=js to a drop link's query when wantEngine is js.
func withEngine(link string) string {
	if wantEngine() != "js" {
		return link
	}
	return withQuery(link, "engine=js")
}

// withQuery adds kv to the query of link, before its fragment.
func withQuery(link, kv string) string {
	at, frag, _ := strings.Cut(link, "#")
	sep := "?"
	if strings.Contains(at, "?") {
		sep = "&"
	}
	return at + sep + kv + "#" + frag
}

// streamBrowser runs the large-document checks in one browser.
type streamBrowser struct {
	mb     int    // document size, MiB
	strict bool   // enforce the RSS bound
	sink   string // the sink the page must choose: storage or download
	dir    string
	procs  func() map[int]int64 // RSS of each of the browser's processes
	open   func(t *testing.T, url string) browserPage
}

func (b *streamBrowser) run(t *testing.T, r *realRelay, name string) {
	t.Run("intact", func(t *testing.T) {
		d := sendBig(t, r, b.mb, false)
		p := b.open(t, withEngine(d.link))
		p.waitState("save")
		time.Sleep(time.Second)
		idleProcs := b.procs()
		var idle int64
		for _, v := range idleProcs {
			idle += v
		}
		stop := make(chan struct{})
		peak := peakRSS(b.procs, stop)
		cpu0 := treeCPU(idleProcs)
		start := time.Now()
		p.click("#big-save")
		p.waitState("decrypted")
		waitSize(t, filepath.Join(b.dir, d.name), d.size)
		took := time.Since(start)
		cpu := treeCPU(b.procs()) - cpu0
		close(stop)
		peaks := <-peak
		pk := peaks.total
		t.Logf("%s: %d MiB streamed to disk in %v; RSS idle %d MiB, peak %d MiB (+%d MiB, %.2f× the document); grew most: %s",
			name, d.size>>20, took.Round(time.Millisecond), idle>>20, pk>>20, (pk-idle)>>20, float64(pk-idle)/float64(d.size), peaks.String(idleProcs))
		if got := p.str(`document.documentElement.dataset.sha256`); got != d.sha256 {
			t.Errorf("page fingerprint %s, want %s", got, d.sha256)
		}
		if n, sum := fileSHA256(t, filepath.Join(b.dir, d.name)); sum != d.sha256 || n != d.size {
			t.Fatalf("file on disk: %d bytes, SHA-256 %s; want %d, %s", n, sum, d.size, d.sha256)
		}
		if k := p.str(`document.documentElement.dataset.sink`); k != b.sink {
			t.Errorf("sink %q, want %q", k, b.sink)
		}
		// Both browsers run the workers' loops in WebAssembly (kernels.js):
		// "js" means the module did not load or failed its check (or the
		// bench asked for JavaScript).
		if e := p.str(`document.documentElement.dataset.engine`); e != wantEngine() {
			t.Errorf("engine %q, want %s", e, wantEngine())
		}
		// Streamed to a file, the PDF's own signature is not checked here,
		// and the page says so.
		if v := p.poll(`document.documentElement.dataset.pdfsig`); v != "unchecked" || !strings.Contains(p.str(`document.getElementById("pdfsig-title").textContent`), "not checked") {
			t.Errorf("PDF signature state %q: %q", v, p.str(`document.getElementById("pdfsig").textContent`))
		}
		// The 1.5× bound is enforced for large documents (TestStreamBig*);
		// at 64 MiB the browser's fixed costs weigh too much in it.
		if float64(pk-idle) > 1.5*float64(d.size) {
			msg := fmt.Sprintf("peak RSS %d MiB above idle, more than 1.5× the %d MiB document", (pk-idle)>>20, d.size>>20)
			if b.strict {
				t.Error(msg)
			} else {
				t.Log("not enforced: " + msg)
			}
		}
		if st := p.poll(`document.documentElement.dataset.receipt`); st != "sent" {
			t.Errorf("receipt %q", st)
		}
		// Verified, the streamed link-mode document offers the secure
		// reply (TestStreamReply* sends one in key mode).
		p.poll(`document.documentElement.dataset.reply === "offered"`)
		os.Remove(filepath.Join(b.dir, d.name))
		if os.Getenv("SEALPRINT_BENCH_WEB") == "1" {
			// The page's steps, from the click (stream.js's marks).
			fmt.Printf("%s: page steps after the click: %s\n", name, p.str(`(() => { const m = performance.getEntriesByType("mark"); const s = m.find((x) => x.name === "sealprint-save"); return m.filter((x) => s && x.startTime >= s.startTime).map((x) => x.name.replace("sealprint-", "") + " " + ((x.startTime - s.startTime) / 1000).toFixed(1) + " s").join(", "); })()`))
			g := gpgDecrypt(t, r, d)
			fmt.Printf("%s: %d MiB drop opened to disk in %v (click → file complete, signature checked, engine %s); gpg --decrypt of the same blob %v; ratio %.2f; RSS +%d MiB (%.2f× the document)\n",
				name, d.size>>20, took.Round(time.Millisecond), p.str(`document.documentElement.dataset.engine`), g.Round(time.Millisecond), took.Seconds()/g.Seconds(), (pk-idle)>>20, float64(pk-idle)/float64(d.size))
			fmt.Printf("%s: the browser's processes used %.1f s of CPU in those %.1f s (%.2f cores of %d)\n",
				name, cpu.Seconds(), took.Seconds(), cpu.Seconds()/took.Seconds(), runtime.NumCPU())
		}
	})

	t.Run("tampered", func(t *testing.T) {
		d := sendBig(t, r, b.mb, true)
		p := b.open(t, d.link)
		p.waitState("save")
		p.click("#big-save")
		p.waitState("altered")
		if reason := p.str(`document.documentElement.dataset.reason`); reason != "altered" {
			t.Errorf("reason %q", reason)
		}
		if s := p.str(`document.documentElement.dataset.sha256`); s != "" {
			t.Errorf("a fingerprint %s is shown for an altered document", s)
		}
		if !strings.Contains(p.str(`document.getElementById("problem-title").textContent`), "supprimez ce fichier") &&
			!strings.Contains(p.str(`document.getElementById("problem-title").textContent`), "delete this file") {
			t.Errorf("problem title %q", p.str(`document.getElementById("problem-title").textContent`))
		}
		checkNoGoodFile(t, b.dir, d)
	})
}

// gpgDecrypt times gpg decrypting and verifying the drop's blob (the link
// secret is the passphrase) into a file, and checks what it wrote.
func gpgDecrypt(t *testing.T, r *realRelay, d *bigDoc) time.Duration {
	t.Helper()
	home := t.TempDir()
	pub := r.doctor.run("keys", "export", r.doctorMail)
	imp := exec.Command("gpg", "--homedir", home, "--batch", "--import")
	imp.Stdin = strings.NewReader(pub)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg import: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "doc.pdf")
	secret := d.link[strings.Index(d.link, "#")+1:]
	start := time.Now()
	msg, err := exec.Command("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase="+secret,
		"--output", out, "--decrypt", d.blob).CombinedOutput()
	took := time.Since(start)
	if err != nil || !strings.Contains(string(msg), "Good signature") {
		t.Fatalf("gpg: %v\n%s", err, msg)
	}
	if _, sum := fileSHA256(t, out); sum != d.sha256 {
		t.Fatal("gpg wrote another document")
	}
	os.Remove(out)
	return took
}

// treeCPU is the CPU time (user and system, from /proc/PID/stat) the
// processes of procs (the pids of a browser's tree) have used so far;
// processes gone since are not counted.
func treeCPU(procs map[int]int64) time.Duration {
	var ticks int64
	for pid := range procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// After the command name, in parentheses: state, ppid, … utime
		// (the 12th field after it), stime.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}
