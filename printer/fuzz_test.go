package printer

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// FuzzServeIPP feeds arbitrary request bodies to the IPP handler. It must
// never panic and always answer. Long runs:
//
//	go test ./printer -run '^$' -fuzz FuzzServeIPP -fuzztime 1h
func FuzzServeIPP(f *testing.F) {
	const addr = "127.0.0.1:8632"
	add := func(m *goipp.Message, doc []byte) {
		b, err := m.EncodeBytes()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(b, doc...))
	}
	add(newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, "alice"), nil)
	gpa := newReq(goipp.OpGetPrinterAttributes, addr, "opj", "alice")
	gpa.Operation.Add(attrKeyword("requested-attributes", "all", "media-col-database", "job-template"))
	add(gpa, nil)
	pj := newReq(goipp.OpPrintJob, addr, DefaultQueue, "alice")
	pj.Operation.Add(attrStrings("document-format", goipp.TagMimeType, "application/octet-stream"))
	pj.Job.Add(attrInt("copies", 2))
	pj.Job.Add(attrColl("media-col", mediaColl(mediaSizes[0], true)))
	pj.Job.Add(goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 1, Upper: 2}))
	add(pj, samplePDF)
	add(newReq(goipp.OpCreateJob, addr, DefaultQueue, "alice"), nil)
	sd := newReq(goipp.OpSendDocument, addr, DefaultQueue, "alice")
	sd.Operation.Add(attrInt("job-id", 1))
	sd.Operation.Add(attrBool("last-document", true))
	add(sd, []byte("plain text\n"))
	gj := newReq(goipp.OpGetJobs, addr, DefaultQueue, "alice")
	gj.Operation.Add(attrKeyword("which-jobs", "all"))
	gj.Operation.Add(attrBool("my-jobs", true))
	gj.Operation.Add(attrInt("limit", 3))
	add(gj, nil)
	for _, op := range []goipp.Op{goipp.OpGetJobAttributes, goipp.OpCancelJob, goipp.OpCloseJob} {
		m := newReq(op, addr, DefaultQueue, "alice")
		m.Operation.Add(attrInt("job-id", 1))
		add(m, nil)
	}
	add(newReq(goipp.OpCancelMyJobs, addr, DefaultQueue, "alice"), nil)
	add(newReq(goipp.OpIdentifyPrinter, addr, DefaultQueue, "alice"), nil)
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0xb, 0, 0, 0, 1, 1, 3})

	s, err := New(Config{
		MaxDocumentBytes: 1 << 16,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		Queues:           func() []Queue { return []Queue{{Name: "opj", Recipients: []string{"a@b.example"}}} },
	}, discardSpooler{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/ipp/print/sealed", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/ipp")
		req.RemoteAddr = "127.0.0.1:5000"
		req.Host = "127.0.0.1:8632"
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d", w.Code)
		}
		var m goipp.Message
		if err := m.DecodeBytes(w.Body.Bytes()); err != nil {
			t.Fatalf("undecodable answer: %v", err)
		}
	})
}

// discardSpooler reads and drops every document.
type discardSpooler struct{}

func (discardSpooler) Accept(ctx context.Context, job JobInfo, doc io.Reader) error {
	_, err := io.Copy(io.Discard, doc)
	return err
}
