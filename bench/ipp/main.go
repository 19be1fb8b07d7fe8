// Command ipp is the load client of bench/ipp.sh: it sends Print-Job
// requests from several concurrent clients to an IPP printer and reports
// the accept rate. With -make-pdf it writes a valid one-page PDF of about
// the given size instead.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/OpenPrinting/goipp"
)

func main() {
	uri := flag.String("uri", "", "printer URI, e.g. ipp://127.0.0.1:8632/ipp/print/sealed")
	file := flag.String("file", "", "document to print")
	format := flag.String("format", "application/pdf", "document-format")
	clients := flag.Int("c", 8, "concurrent clients")
	jobs := flag.Int("n", 200, "jobs in total")
	makePDF := flag.Int("make-pdf", 0, "write a PDF of about this many bytes to -file and exit")
	serveAddr := flag.String("serve", "", "run the print service on this address with a stand-in spooler (-spooler) in -spool")
	spoolDir := flag.String("spool", "", "spool directory for -serve")
	spoolMode := flag.String("spooler", "file", "stand-in spooler for -serve: file (fsync per job) or discard")
	flag.Parse()
	if *serveAddr != "" {
		if err := serve(*serveAddr, *spoolDir, *spoolMode); err != nil {
			fatal(err)
		}
		return
	}
	if *makePDF > 0 {
		if err := os.WriteFile(*file, pdfOfSize(*makePDF), 0o644); err != nil {
			fatal(err)
		}
		return
	}
	doc, err := os.ReadFile(*file)
	if err != nil {
		fatal(err)
	}
	u, err := url.Parse(*uri)
	if err != nil || (u.Scheme != "ipp" && u.Scheme != "http") {
		fatal(fmt.Errorf("bad -uri %q", *uri))
	}
	post := "http://" + u.Host + u.Path
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}

	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[string]int{}
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*jobs) {
					return
				}
				t0 := time.Now()
				st, err := printJob(hc, post, *uri, *format, uint32(i), doc)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					statuses["error: "+err.Error()]++
				} else {
					statuses[st.String()]++
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ok := statuses[goipp.StatusOk.String()]
	fmt.Printf("jobs=%d ok=%d clients=%d size=%d elapsed=%.3fs rate=%.1f jobs/s p50=%s p99=%s\n",
		*jobs, ok, *clients, len(doc), elapsed.Seconds(), float64(ok)/elapsed.Seconds(),
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
	if ok != *jobs {
		var parts []string
		for k, v := range statuses {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(parts)
		fmt.Fprintln(os.Stderr, "statuses:", strings.Join(parts, " "))
		os.Exit(1)
	}
}

// printJob sends one Print-Job and returns the IPP status.
func printJob(hc *http.Client, post, uri, format string, id uint32, doc []byte) (goipp.Status, error) {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, id)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("bench")))
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(fmt.Sprintf("bench-%d", id))))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
	hdr, err := m.EncodeBytes()
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest("POST", post, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(len(hdr) + len(doc))
	req.Header.Set("Content-Type", "application/ipp")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var r goipp.Message
	if err := r.Decode(resp.Body); err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	return goipp.Status(r.Code), nil
}

// pdfOfSize returns a valid one-page A4 PDF holding an uncompressed noise
// image, about n bytes long (incompressible, like a scanned report).
func pdfOfSize(n int) []byte {
	side := 16
	for side*side*3 < n {
		side++
	}
	img := make([]byte, side*side*3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img {
		img[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	var offs []int
	obj := func(body string, stream []byte) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offs), body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>", side, side, len(img)), img)
	content := []byte("q 500 0 0 500 47 171 cm /Im1 Do Q")
	obj(fmt.Sprintf("<< /Length %d >>", len(content)), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ipp bench:", err)
	os.Exit(1)
}
