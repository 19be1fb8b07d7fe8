package recipient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestStages times each stage of opening a large document alone, in each
// browser, against the real relay: the ranged download of the ciphertext
// (read and discarded), AES-256-CFB (aes.js) in a worker and on the page's
// thread, and each sink (sink.js: private storage, service-worker download)
// fed zeros in 64 KiB chunks, with its close and hand-off to the downloads
// until the file is complete on disk. It runs only from bench/web-stages.sh
// (SEALPRINT_BENCH_STAGES=1); sizes from SEALPRINT_STAGE_MB (default
// "50 200"). Nothing here is served by the relay: the harness page exists
// only in this test.
func TestStages(t *testing.T) {
	if os.Getenv("SEALPRINT_BENCH_STAGES") != "1" {
		t.Skip("benchmark: run bench/web-stages.sh")
	}
	var sizes []int
	for _, f := range strings.Fields(os.Getenv("SEALPRINT_STAGE_MB")) {
		if v, err := strconv.Atoi(f); err == nil && v > 0 {
			sizes = append(sizes, v)
		}
	}
	if len(sizes) == 0 {
		sizes = []int{50, 200}
	}
	browsers := strings.Fields(os.Getenv("SEALPRINT_STAGE_BROWSERS"))
	if len(browsers) == 0 {
		browsers = []string{"chromium", "firefox"}
	}
	for _, name := range browsers {
		t.Run(name, func(t *testing.T) {
			r := startRealRelay(t)
			mountStageHarness(r)
			var sp stagePage
			var dir string
			switch name {
			case "firefox":
				ff := startFirefox(t)
				p := ff.page(t)
				p.goto_(r.url + "/stagebench/")
				sp, dir = p, ff.DownloadDir
			case "chromium":
				sp, dir = chromiumStagePage(t, r.url+"/stagebench/")
			default:
				t.Fatalf("no browser %q", name)
			}
			for _, mb := range sizes {
				if _, err := os.Stat(filepath.Join(r.doctor.wd, "stage.pdf")); err != nil || mb != sizes[0] {
					writeBig(t, r, "stage.pdf", mb)
				}
				sent := r.doctor.send("stage.pdf", "--link", "--to", r.officerMail, "--max-downloads", "0")
				id := sent.Link[strings.LastIndex(sent.Link, "/")+1 : strings.Index(sent.Link, "#")]
				var info struct {
					Size int64 `json:"size"`
				}
				stageEval(t, sp, fmt.Sprintf("fetch('/api/v1/drops/%s').then((r) => r.text())", id), &info)
				var res struct {
					MS float64 `json:"ms"`
					N  int64   `json:"n"`
				}
				for _, v := range fetchVariants() {
					stageEval(t, sp, fmt.Sprintf("bench.fetch(%q, %d, %q)", id, info.Size, v), &res)
					if res.N != info.Size {
						t.Errorf("fetched %d bytes of %d", res.N, info.Size)
					}
					report(name, mb, "fetch "+v+" (read, discarded)", res.MS)
				}
				for _, where := range []string{"worker", "page"} {
					stageEval(t, sp, fmt.Sprintf("bench.aes(%d, %q)", mb, where), &res)
					report(name, mb, "AES-256-CFB aes.js in the "+where, res.MS)
				}
				for _, sv := range sinkVariants() {
					how, rest, _ := strings.Cut(sv, ":")
					batch, depth, _ := strings.Cut(rest, ":")
					var s struct {
						Kind  string  `json:"kind"`
						Write float64 `json:"write"`
						Close float64 `json:"close"`
					}
					file := filepath.Join(dir, "stage-"+how+".bin")
					start := time.Now()
					stageEval(t, sp, fmt.Sprintf("bench.sink(%q, %d, %q, %q, %q)", how, mb, filepath.Base(file), batch, depth), &s)
					closed := time.Since(start)
					waitSize(t, file, int64(mb)<<20)
					total := time.Since(start)
					if s.Kind != how {
						t.Errorf("sink %q, want %q", s.Kind, how)
					}
					report(name, mb, "sink "+sv+" writes", s.Write)
					fmt.Printf("%s %d MiB: sink %s close %.0f ms, complete on disk %.0f ms after the first write (%.1f MiB/s end to end; eval %.0f ms)\n",
						name, mb, sv, s.Close, float64(total.Milliseconds()), float64(mb)/total.Seconds(), float64(closed.Milliseconds()))
					os.Remove(file)
				}
			}
		})
	}
}

// fetchVariants are the downloads timed: "RANGE_MiB-PREFETCH" (api.js's
// blob with those constants) or "whole" (one plain request), from
// SEALPRINT_STAGE_FETCH; "shipped" (the default) is api.js as it is.
func fetchVariants() []string {
	if v := strings.Fields(os.Getenv("SEALPRINT_STAGE_FETCH")); len(v) > 0 {
		return v
	}
	return []string{"shipped"}
}

// sinkVariants are the sinks timed: "storage" or "download", with
// ":BATCH_KiB" or ":BATCH_KiB:DEPTH" to change sink.js's batch size and
// writes in flight (":" alone for none), from SEALPRINT_STAGE_SINK.
func sinkVariants() []string {
	if v := strings.Fields(os.Getenv("SEALPRINT_STAGE_SINK")); len(v) > 0 {
		return v
	}
	return []string{"storage", "download"}
}

func report(browser string, mb int, stage string, ms float64) {
	fmt.Printf("%s %d MiB: %s %.0f ms (%.1f MiB/s)\n", browser, mb, stage, ms, float64(mb)/(ms/1000))
}

// stagePage evaluates a JavaScript expression (a promise) to a string.
type stagePage interface {
	str(expr string) string
}

func stageEval(t *testing.T, p stagePage, expr string, v any) {
	t.Helper()
	s := p.str(expr)
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s: %q: %v", expr, s, err)
	}
}

// cdpAwait is a Chromium tab whose str awaits a promise.
type cdpAwait struct {
	t   *testing.T
	ctx context.Context
}

func (p cdpAwait) str(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(async () => String(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func chromiumStagePage(t *testing.T, url string) (stagePage, string) {
	e := newBrowserEnv(t)
	dir := t.TempDir()
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 30*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	return cdpAwait{t: t, ctx: tctx}, dir
}

// mountStageHarness serves the harness page in front of the relay, on the
// page's origin (it imports the page's own modules).
func mountStageHarness(r *realRelay) {
	next := r.rec.next
	r.rec.next = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/stagebench/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>stages</title><script type="module" src="/stagebench/bench.js"></script>`)
		case "/stagebench/bench.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, stageBenchJS)
		case "/stagebench/api.js", "/stagebench/sink.js":
			// The page's module with its constants changed.
			src, err := os.ReadFile(filepath.Join("static", filepath.Base(req.URL.Path)))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			q := req.URL.Query()
			out := string(src)
			for k, re := range map[string]string{"range": `export const rangeSize = [^;]*;`, "prefetch": `export const prefetch = [^;]*;`, "batch": `export const batchSize = [^;]*;`, "depth": `export const depth = [^;]*;`} {
				if v := q.Get(k); v != "" {
					name := map[string]string{"range": "rangeSize", "prefetch": "prefetch", "batch": "batchSize", "depth": "depth"}[k]
					out = regexp.MustCompile(re).ReplaceAllString(out, "export const "+name+" = "+v+";")
				}
			}
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, out)
		case "/stagebench/aesworker.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, stageAESWorkerJS)
		default:
			next.ServeHTTP(w, req)
		}
	})
}

const stageAESJS = `
export function run(mb) {
  const key = new Uint8Array(32).fill(7);
  const dec = new CFBDecrypter(key);
  const buf = new Uint8Array(1 << 20);
  for (let i = 0; i < buf.length; i++) buf[i] = i * 31;
  const t0 = performance.now();
  for (let i = 0; i < mb; i++) dec.decrypt(buf, buf);
  return performance.now() - t0;
}
`

const stageAESWorkerJS = `import { CFBDecrypter } from "/d/static/aes.js";
` + stageAESJS + `
self.onmessage = (ev) => self.postMessage(run(ev.data));
`

const stageBenchJS = `import * as api from "/d/static/api.js";
import * as sink from "/d/static/sink.js";
import { CFBDecrypter } from "/d/static/aes.js";
` + stageAESJS + `
window.bench = {
  async fetch(id, size, variant) {
    const t0 = performance.now();
    let body;
    if (variant === "whole") {
      body = (await fetch("/api/v1/drops/" + id + "/blob", { cache: "no-store" })).body;
    } else if (variant === "shipped") {
      body = (await api.blob(id, "", size)).body;
    } else {
      const [mib, depth] = variant.split("-");
      const m = await import("/stagebench/api.js?range=" + (Number(mib) << 20) + "&prefetch=" + Number(depth));
      body = (await m.blob(id, "", size)).body;
    }
    const r = body.getReader();
    let n = 0;
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      n += value.length;
    }
    return JSON.stringify({ ms: performance.now() - t0, n });
  },
  async aes(mb, where) {
    if (where === "page") return JSON.stringify({ ms: run(mb) });
    const w = new Worker("/stagebench/aesworker.js", { type: "module" });
    const ms = await new Promise((ok, ko) => { w.onmessage = (ev) => ok(ev.data); w.onerror = ko; w.postMessage(mb); });
    w.terminate();
    return JSON.stringify({ ms });
  },
  async sink(how, mb, name, batch, depth) {
    const q = (batch ? "&batch=" + (Number(batch) << 10) : "") + (depth ? "&depth=" + Number(depth) : "");
    const m = q ? await import("/stagebench/sink.js?" + q.slice(1)) : sink;
    const s = await m.open(name, how, mb << 20);
    const t0 = performance.now();
    for (let i = 0; i < mb * 16; i++) await s.write(new Uint8Array(64 << 10));
    const t1 = performance.now();
    await s.close();
    const t2 = performance.now();
    return JSON.stringify({ kind: s.kind, write: t1 - t0, close: t2 - t1 });
  },
};
`
