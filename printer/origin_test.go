package printer

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// rawRequest sends an HTTP request byte for byte (Host and Origin exactly
// as a rebinding page's browser would send them) and returns the response.
func rawRequest(t *testing.T, addr, method, path, host, origin string, body []byte) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	if origin != "" {
		fmt.Fprintf(&b, "Origin: %s\r\n", origin)
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Type: application/ipp\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := c.Write(append([]byte(b.String()), body...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A page that rebinds its name to 127.0.0.1 gets 403 on every endpoint —
// Print-Job, Get-Jobs, Get-Printer-Attributes, the jobs page — and creates
// nothing; the listener's own names still work.
func TestRebindingRefused(t *testing.T) {
	sp := &memSpooler{}
	var pageHits atomic.Int32
	s, addr := startServer(t, sp, Config{HostNames: []string{"pc-ward3.hospital.example"}})
	s.Handle("/jobs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHits.Add(1)
		w.Write([]byte("jobs"))
	}))
	_, port, _ := net.SplitHostPort(addr)
	evil := "evil.example:" + port

	printReq := func() []byte {
		m := newReq(goipp.OpPrintJob, addr, DefaultQueue, "alice")
		m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
		return encodeReq(t, m, []byte("%PDF-1.4\n%%EOF\n"))
	}
	getJobs := func() []byte { return encodeReq(t, newReq(goipp.OpGetJobs, addr, DefaultQueue, "alice"), nil) }
	getAttrs := func() []byte {
		return encodeReq(t, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, "alice"), nil)
	}
	refused := []struct {
		name, method, path, host, origin string
		body                             []byte
	}{
		{"Print-Job, rebound Host", "POST", "/ipp/print/sealed", evil, "", printReq()},
		{"Print-Job, rebound Host and Origin", "POST", "/ipp/print/sealed", evil, "http://" + evil, printReq()},
		{"Print-Job, foreign Origin", "POST", "/ipp/print/sealed", addr, "http://" + evil, printReq()},
		{"Print-Job, null Origin", "POST", "/ipp/print/sealed", addr, "null", printReq()},
		{"Print-Job, Origin on another port", "POST", "/ipp/print/sealed", addr, "http://127.0.0.1:1", printReq()},
		{"Get-Jobs, rebound Host", "POST", "/ipp/print/sealed", evil, "", getJobs()},
		{"Get-Printer-Attributes, foreign Origin", "POST", "/ipp/print/sealed", addr, "http://evil.example", getAttrs()},
		{"jobs page, rebound Host", "GET", "/jobs", evil, "", nil},
		{"jobs page, foreign Origin", "GET", "/jobs", "localhost:" + port, "https://evil.example", nil},
		{"info page, a name that merely ends like ours", "GET", "/", "evil-localhost:" + port, "", nil},
		{"Print-Job, Origin of another IP", "POST", "/ipp/print/sealed", addr, "http://203.0.113.5:" + port, printReq()},
	}
	for _, tc := range refused {
		resp := rawRequest(t, addr, tc.method, tc.path, tc.host, tc.origin, tc.body)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if jobs, _ := sp.accepted(); len(jobs) != 0 {
		t.Fatalf("%d jobs created by refused requests", len(jobs))
	}
	if n := pageHits.Load(); n != 0 {
		t.Fatalf("the jobs page answered %d refused requests", n)
	}

	allowed := []struct{ host, origin string }{
		{addr, ""},
		{"localhost:" + port, "http://localhost:" + port},
		{"LOCALHOST:" + port, ""},
		{"[::1]:" + port, "http://[::1]:" + port},
		{"pc-ward3.hospital.example:" + port, "http://pc-ward3.hospital.example:" + port},
		{"192.0.2.10:" + port, ""}, // an address dialled directly
	}
	for _, tc := range allowed {
		resp := rawRequest(t, addr, "POST", "/ipp/print/sealed", tc.host, tc.origin, printReq())
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s Origin %q: status %d, want 200", tc.host, tc.origin, resp.StatusCode)
		}
	}
	if jobs, _ := sp.accepted(); len(jobs) != len(allowed) {
		t.Fatalf("%d jobs from the listener's own names, want %d", len(jobs), len(allowed))
	}
	if resp := rawRequest(t, addr, "GET", "/jobs", addr, "", nil); resp.StatusCode != 200 || pageHits.Load() != 1 {
		t.Fatalf("jobs page on its own name: %d", resp.StatusCode)
	}
}
