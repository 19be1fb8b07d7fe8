package jobs

import (
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/spooler"
)

// countingPrinterSpooler records every job the printer hands on.
type countingPrinterSpooler struct {
	mu   sync.Mutex
	jobs []printer.JobInfo
}

func (c *countingPrinterSpooler) Accept(ctx context.Context, job printer.JobInfo, doc io.Reader) error {
	if _, err := io.Copy(io.Discard, doc); err != nil {
		return err
	}
	c.mu.Lock()
	c.jobs = append(c.jobs, job)
	c.mu.Unlock()
	return nil
}

func (c *countingPrinterSpooler) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.jobs)
}

// evilPage is what a site on evil.example serves once its name points at
// 127.0.0.1: it tries to read the jobs API, release a held job with a form
// (with the page's real CSRF token, so that only the Host/Origin guard
// stands in the way) and print through IPP, and records what it saw.
var evilPage = template.Must(template.New("evil").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>evil</title></head><body>
<iframe name="sink" id="sink"></iframe>
<form id="rel" method="post" target="sink" action="{{.Target}}/jobs/{{.JobID}}/release">
<input name="csrf" value="{{.CSRF}}"><input name="to" value="eve@evil.example"><input name="mode" value="key">
</form>
<script>
window.results = {};
const target = {{.Target}};
const ipp = Uint8Array.from(atob({{.IPP}}), c => c.charCodeAt(0));
async function attempt(name, url, init) {
  try {
    const r = await fetch(url, init);
    window.results[name] = "status " + r.status + (r.type === "opaque" ? " (opaque)" : "");
  } catch (e) {
    window.results[name] = "error " + e.message;
  }
}
(async () => {
  await attempt("api", target + "/jobs/api");
  await attempt("api-key", target + "/jobs/api?key=" + {{.Secret}});
  await attempt("api-no-cors", target + "/jobs/api", {mode: "no-cors"});
  await attempt("ipp", target + "/ipp/print/sealed", {method: "POST", headers: {"Content-Type": "application/ipp"}, body: ipp});
  await attempt("ipp-no-cors", target + "/ipp/print/sealed", {method: "POST", mode: "no-cors", body: new Blob([ipp], {type: "application/ipp"})});
  const sink = document.getElementById("sink");
  await new Promise(resolve => { sink.onload = resolve; document.getElementById("rel").submit(); });
  window.results.form = "loaded";
  window.done = true;
})();
</script></body></html>`))

// TestRebindingRefusedInChromium is DNS rebinding as a real browser does
// it: Chromium resolves evil.example to 127.0.0.1 (--host-resolver-rules),
// loads an attacker's page from evil.example:PORT2, whose script talks to
// the printer and jobs listener as evil.example:PORT; then Chromium is sent
// straight to http://evil.example:PORT/jobs?key=SECRET. Every answer from
// the listener is 403, no job is printed or released, the page's content
// is never shown and no cookie is set; the same page on 127.0.0.1 works.
func TestRebindingRefusedInChromium(t *testing.T) {
	testutil.NeedIntegration(t)
	exe := testutil.NeedTool(t, "chromium")

	h := newHarness(t)
	held := h.accept("rapport-gav-rebind.pdf")
	h.waitState(held, spooler.Held)
	const secret = "tok"
	jh := Handler(h.sp, Options{APIToken: secret})

	ps := &countingPrinterSpooler{}
	srv, err := printer.New(printer.Config{Logger: slog.New(slog.DiscardHandler)}, ps)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("/jobs", jh)
	srv.Handle("/jobs/", jh)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	target := "http://evil.example:" + port

	// The IPP Print-Job the page sends, exactly as a client would.
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(target+"/ipp/print/sealed")))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("doctor")))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	ippBody, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	ippBody = append(ippBody, "%PDF-1.4\n%%EOF\n"...)

	csrf := pageCSRF(t, "http://127.0.0.1:"+port+"/jobs")
	pageFor := func(target string) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			evilPage.Execute(rw, map[string]string{
				"Target": target, "JobID": held, "CSRF": csrf,
				"IPP": base64.StdEncoding.EncodeToString(ippBody), "Secret": secret,
			})
		}
	}
	// Cross-port: the attacker's page on evil.example:PORT2 talks to the
	// real listener as evil.example:PORT.
	crossPort := httptest.NewServer(pageFor(target))
	t.Cleanup(crossPort.Close)
	_, crossPortNum, _ := net.SplitHostPort(crossPort.Listener.Addr().String())
	// Same origin, the rebinding proper: evil.example:PORT3 first served
	// the attacker's page, then "became" the printer; its script's
	// requests are same-origin (no preflight, Content-Type application/ipp
	// allowed), so only the printer's Host check stands in the way.
	var rebound *httptest.Server
	rebound = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/rebound/" {
			pageFor("http://evil.example:"+portOf(rebound))(rw, r)
			return
		}
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(rebound.Close)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless,
		chromedp.DisableGPU, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	// Every response Chromium got, by method and URL.
	var mu sync.Mutex
	methods := map[network.RequestID]string{}
	var answers []string
	var setCookies []string
	listener := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			methods[ev.RequestID] = ev.Request.Method
		case *network.EventResponseReceived:
			answers = append(answers, fmt.Sprintf("%d %s %s", ev.Response.Status, methods[ev.RequestID], ev.Response.URL))
			for k, v := range ev.Response.Headers {
				if strings.EqualFold(k, "Set-Cookie") {
					setCookies = append(setCookies, ev.Response.URL+": "+fmt.Sprint(v))
				}
			}
		}
	}
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(listener))
	t.Cleanup(cancelB)
	bctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancelT)
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	for _, sc := range []struct{ name, page, target string }{
		{"cross-port", "http://evil.example:" + crossPortNum + "/", target},
		{"same-origin", "http://evil.example:" + portOf(rebound) + "/rebound/", "http://evil.example:" + portOf(rebound)},
	} {
		mu.Lock()
		answers, setCookies = nil, nil
		mu.Unlock()
		if err := chromedp.Do(bctx, chromedp.Navigate(sc.page)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`window.done === true`)); err != nil {
			t.Fatalf("%s: the page's script did not finish: %v", sc.name, err)
		}
		results, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]string](`window.results`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: page script saw: %v", sc.name, results)
		for k, v := range results {
			// Cross-origin, a 403 without CORS headers reaches the script
			// as a network error or an opaque answer; same-origin, as 403.
			if !strings.HasPrefix(v, "error") && v != "status 0 (opaque)" && v != "status 403" && v != "loaded" {
				t.Errorf("%s: %s: the page's script got %q", sc.name, k, v)
			}
		}
		if sink, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { try { return document.getElementById("sink").contentDocument.body.innerText } catch (e) { return "" } })()`)); err == nil && strings.Contains(sink, "rapport-gav-rebind") {
			t.Errorf("%s: the form's answer shows the jobs page: %q", sc.name, sink)
		}

		// Straight to the jobs page under the rebound name, with the secret.
		if err := chromedp.Do(bctx, chromedp.Navigate(sc.target+"/jobs?key="+secret)); err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, "rapport-gav-rebind") || strings.Contains(body, held) {
			t.Fatalf("%s: the jobs page rendered under evil.example:\n%s", sc.name, body)
		}
		jar, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{sc.target + "/jobs"}})
		if err != nil {
			t.Fatal(err)
		}

		mu.Lock()
		got := append([]string(nil), answers...)
		cookies := append([]string(nil), setCookies...)
		mu.Unlock()
		t.Logf("%s: answers seen by Chromium:\n%s", sc.name, strings.Join(got, "\n"))
		want := map[string]bool{
			"GET " + sc.target + "/jobs/api":                   false,
			"POST " + sc.target + "/ipp/print/sealed":          false,
			"POST " + sc.target + "/jobs/" + held + "/release": false,
			"GET " + sc.target + "/jobs?key=" + secret:         false,
		}
		for _, a := range got {
			status, rest, _ := strings.Cut(a, " ")
			_, u, _ := strings.Cut(rest, " ")
			if !strings.HasPrefix(u, "http") || u == sc.page || (!strings.HasPrefix(u, sc.target+"/") && strings.HasSuffix(u, "/favicon.ico")) {
				continue // the attacker's own page and icon
			}
			if !strings.HasPrefix(u, sc.target+"/") {
				t.Errorf("%s: unexpected request %s", sc.name, a)
			}
			if status != "403" {
				t.Errorf("%s: listener answered %s", sc.name, a)
			}
			if _, ok := want[rest]; ok {
				want[rest] = true
			}
		}
		for k, seen := range want {
			if !seen {
				t.Errorf("%s: no answer seen for %s", sc.name, k)
			}
		}
		if len(cookies) != 0 || len(jar.Cookies) != 0 {
			t.Errorf("%s: a cookie was set under evil.example: %v %v", sc.name, cookies, jar.Cookies)
		}
		if n := ps.count(); n != 0 {
			t.Fatalf("%s: %d jobs printed by the rebound page", sc.name, n)
		}
		if j, err := h.sp.Get(held); err != nil || j.State != spooler.Held {
			t.Fatalf("%s: held job after the attack: %+v %v", sc.name, j, err)
		}
	}

	// The same listener and browser under the listener's own name: the
	// page renders and printing works, so the refusals above are the
	// guard's, not a broken setup.
	own := "http://127.0.0.1:" + port
	if err := chromedp.Do(bctx, chromedp.Navigate(own+"/jobs?key="+secret)); err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if !strings.Contains(body, "rapport-gav-rebind") {
		t.Fatalf("the jobs page on 127.0.0.1 does not show the job:\n%s", body)
	}
	resp, err := http.Post(own+"/ipp/print/sealed", "application/ipp", strings.NewReader(string(ippBody)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || ps.count() != 1 {
		t.Fatalf("Print-Job on 127.0.0.1: status %d, %d jobs", resp.StatusCode, ps.count())
	}
}

// pageCSRF returns the CSRF token the jobs page at url puts in its forms.
func pageCSRF(t *testing.T, url string) string {
	t.Helper()
	resp, err := signedIn.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token on the page (%d)", resp.StatusCode)
	}
	return string(m[1])
}

// portOf is the port an httptest server listens on.
func portOf(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}
