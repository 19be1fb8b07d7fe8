package printer

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/OpenPrinting/goipp"
)

var reqID atomic.Uint32

// newReq returns a request for op on queue at addr with the standard
// operation attributes (charset, language, printer-uri, user).
func newReq(op goipp.Op, addr, queue, user string) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, reqID.Add(1))
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(QueueURI(addr, queue))))
	if user != "" {
		m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	}
	return m
}

// encodeReq returns the wire form of m followed by doc.
func encodeReq(t testing.TB, m *goipp.Message, doc []byte) []byte {
	t.Helper()
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	return append(b, doc...)
}

// post sends a raw IPP body to addr and decodes the answer.
func post(t testing.TB, addr, queue string, body io.Reader) *goipp.Message {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/ipp/print/"+queue, "application/ipp", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("HTTP %s: %s", resp.Status, b)
	}
	var m goipp.Message
	if err := m.Decode(resp.Body); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return &m
}

// call sends m (and doc) and returns the response.
func call(t testing.TB, addr, queue string, m *goipp.Message, doc []byte) *goipp.Message {
	t.Helper()
	return post(t, addr, queue, bytes.NewReader(encodeReq(t, m, doc)))
}

// status returns the response status.
func status(m *goipp.Message) goipp.Status { return goipp.Status(m.Code) }

// wantStatus fails unless m has status want.
func wantStatus(t testing.TB, m *goipp.Message, want goipp.Status) {
	t.Helper()
	if status(m) != want {
		msg, _ := findAttr(m.Operation, "status-message")
		t.Fatalf("status %s (%v), want %s", status(m), msg.Values, want)
	}
}

// attrOf returns the first value of name in the given response group.
func attrOf(t testing.TB, attrs goipp.Attributes, name string) string {
	t.Helper()
	a, ok := findAttr(attrs, name)
	if !ok || len(a.Values) == 0 {
		t.Fatalf("no %s in %v", name, attrs)
	}
	return textValue(a.Values[0].V)
}

// printJob prints doc with format and returns the response.
func printJob(t testing.TB, addr, queue, user, format string, doc []byte, job ...goipp.Attribute) *goipp.Message {
	t.Helper()
	m := newReq(goipp.OpPrintJob, addr, queue, user)
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String("report")))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
	for _, a := range job {
		m.Job.Add(a)
	}
	return call(t, addr, queue, m, doc)
}

// getJob returns the attributes of job id.
func getJob(t testing.TB, addr, queue string, id int) goipp.Attributes {
	t.Helper()
	m := newReq(goipp.OpGetJobAttributes, addr, queue, "alice")
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id)))
	r := call(t, addr, queue, m, nil)
	wantStatus(t, r, goipp.StatusOk)
	return r.Job
}

func jobIDOf(t testing.TB, r *goipp.Message) int {
	t.Helper()
	var id int
	fmt.Sscan(attrOf(t, r.Job, "job-id"), &id)
	return id
}

var samplePDF = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
