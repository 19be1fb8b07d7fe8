package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
)

func TestPrintJobSpoolsDocument(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{}, Queue{Name: "opj", Recipients: []string{"martin@police.example", "b@x.example"}})
	r := printJob(t, addr, "opj", "alice", "application/pdf", samplePDF,
		attrInt("copies", 2), attrKeyword("sides", "two-sided-long-edge"), attrKeyword("media", "iso_a4_210x297mm"))
	wantStatus(t, r, goipp.StatusOk)
	if got := attrOf(t, r.Job, "job-state"); got != "9" {
		t.Errorf("job-state %s, want 9 (completed)", got)
	}
	jobs, docs := sp.accepted()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	j := jobs[0]
	if j.Queue != "opj" || j.Name != "report" || j.User != "alice" || j.Format != "application/pdf" {
		t.Errorf("job info %+v", j)
	}
	if j.Attrs["copies"] != "2" || j.Attrs["sides"] != "two-sided-long-edge" || strings.Join(j.Recipients, ",") != "martin@police.example,b@x.example" {
		t.Errorf("attrs %v", j.Attrs)
	}
	if !bytes.Equal(docs[j.ID], samplePDF) {
		t.Errorf("document bytes differ")
	}
	ja := getJob(t, addr, "opj", jobIDOf(t, r))
	if attrOf(t, ja, "job-uuid") != "urn:uuid:"+j.ID {
		t.Errorf("job-uuid %s, JobInfo.ID %s", attrOf(t, ja, "job-uuid"), j.ID)
	}
	if attrOf(t, ja, "copies") != "2" {
		t.Errorf("copies not echoed")
	}
}

func TestFormats(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{})
	cases := []struct {
		format string
		doc    []byte
		want   goipp.Status
		sniff  string
	}{
		{"application/octet-stream", samplePDF, goipp.StatusOk, "application/pdf"},
		{"application/octet-stream", []byte("\xff\xd8\xff\xe0JFIF"), goipp.StatusOk, "image/jpeg"},
		{"application/octet-stream", []byte("RaS2PwgRaster"), goipp.StatusOk, "image/pwg-raster"},
		{"application/octet-stream", []byte("UNIRAST\x00\x00\x00\x00\x01"), goipp.StatusOk, "image/urf"},
		{"application/octet-stream", []byte("\x89PNG\r\n\x1a\nrest"), goipp.StatusOk, "image/png"},
		{"application/octet-stream", []byte("hello, plain text\n"), goipp.StatusOk, "text/plain"},
		{"application/octet-stream", []byte("\x00\x01\x02binary"), goipp.StatusErrorDocumentFormatNotSupported, ""},
		{"text/plain; charset=utf-8", []byte("héllo\n"), goipp.StatusOk, "text/plain"},
		{"application/postscript", []byte("%!PS\n"), goipp.StatusErrorDocumentFormatNotSupported, ""},
		{"application/pdf", []byte("\xff\xd8\xff\xe0JFIF"), goipp.StatusErrorDocumentFormatError, ""},
		{"text/plain", []byte("\x00\x00"), goipp.StatusErrorDocumentFormatError, ""},
		{"application/pdf", nil, goipp.StatusErrorBadRequest, ""},
	}
	for _, c := range cases {
		r := printJob(t, addr, DefaultQueue, "alice", c.format, c.doc)
		if status(r) != c.want {
			t.Errorf("%s %q: status %s, want %s", c.format, c.doc, status(r), c.want)
			continue
		}
		if c.want == goipp.StatusOk {
			jobs, _ := sp.accepted()
			if got := jobs[len(jobs)-1].Format; got != c.sniff {
				t.Errorf("%s %q: format %s, want %s", c.format, c.doc, got, c.sniff)
			}
		}
	}
}

func TestSpoolerErrors(t *testing.T) {
	sp := &memSpooler{fail: busyError{}}
	_, addr := startServer(t, sp, Config{})
	r := printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF)
	wantStatus(t, r, goipp.StatusErrorBusy)

	sp.mu.Lock()
	sp.fail = errors.New("disk full")
	sp.mu.Unlock()
	r = printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF)
	wantStatus(t, r, goipp.StatusErrorJobCanceled)

	// The busy job was forgotten; the failed one is aborted with its reason.
	m := newReq(goipp.OpGetJobs, addr, DefaultQueue, "alice")
	m.Operation.Add(attrKeyword("which-jobs", "all"))
	m.Operation.Add(attrKeyword("requested-attributes", "job-state", "job-state-message"))
	r = call(t, addr, DefaultQueue, m, nil)
	wantStatus(t, r, goipp.StatusOk)
	var groups []goipp.Attributes
	for _, g := range r.Groups {
		if g.Tag == goipp.TagJobGroup {
			groups = append(groups, g.Attrs)
		}
	}
	if len(groups) != 1 {
		t.Fatalf("%d jobs listed, want 1", len(groups))
	}
	if attrOf(t, groups[0], "job-state") != "8" || attrOf(t, groups[0], "job-state-message") != "disk full" {
		t.Errorf("failed job: %v", groups[0])
	}
}

func TestTooLarge(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{MaxDocumentBytes: 1000})
	r := printJob(t, addr, DefaultQueue, "alice", "application/pdf", append(append([]byte{}, samplePDF...), make([]byte, 2000)...))
	wantStatus(t, r, goipp.StatusErrorRequestEntity)
	exact := append(append([]byte{}, samplePDF...), make([]byte, 1000-len(samplePDF))...)
	wantStatus(t, printJob(t, addr, DefaultQueue, "alice", "application/pdf", exact), goipp.StatusOk)
}

func TestJobMessage(t *testing.T) {
	sp := &memSpooler{}
	s, addr := startServer(t, sp, Config{})
	r := printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF)
	jobs, _ := sp.accepted()
	if !s.SetJobMessage(jobs[0].ID, "uploaded to relay") {
		t.Fatal("SetJobMessage: job unknown")
	}
	if got := attrOf(t, getJob(t, addr, DefaultQueue, jobIDOf(t, r)), "job-state-message"); got != "uploaded to relay" {
		t.Errorf("job-state-message %q", got)
	}
	if s.SetJobMessage("nope", "x") {
		t.Error("SetJobMessage on an unknown job reported true")
	}
}

func TestCreateSendCancelClose(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{})
	create := func(user string) int {
		r := call(t, addr, DefaultQueue, newReq(goipp.OpCreateJob, addr, DefaultQueue, user), nil)
		wantStatus(t, r, goipp.StatusOk)
		return jobIDOf(t, r)
	}
	send := func(id int, user string, last bool, doc []byte) *goipp.Message {
		m := newReq(goipp.OpSendDocument, addr, DefaultQueue, user)
		m.Operation.Add(attrInt("job-id", id))
		m.Operation.Add(attrBool("last-document", last))
		m.Operation.Add(attrStrings("document-format", goipp.TagMimeType, "application/pdf"))
		return call(t, addr, DefaultQueue, m, doc)
	}
	jobOp := func(op goipp.Op, id int, user string) *goipp.Message {
		m := newReq(op, addr, DefaultQueue, user)
		m.Operation.Add(attrInt("job-id", id))
		return call(t, addr, DefaultQueue, m, nil)
	}
	id := create("alice")
	wantStatus(t, send(id, "bob", true, samplePDF), goipp.StatusErrorNotAuthorized)
	wantStatus(t, send(id, "alice", true, samplePDF), goipp.StatusOk)
	wantStatus(t, send(id, "alice", true, samplePDF), goipp.StatusErrorMultipleJobsNotSupported)
	wantStatus(t, send(id, "alice", true, nil), goipp.StatusOk)
	wantStatus(t, jobOp(goipp.OpCancelJob, id, "alice"), goipp.StatusErrorNotPossible)
	wantStatus(t, jobOp(goipp.OpCloseJob, id, "alice"), goipp.StatusOk)

	id2 := create("alice")
	wantStatus(t, jobOp(goipp.OpCancelJob, id2, "bob"), goipp.StatusErrorNotAuthorized)
	wantStatus(t, jobOp(goipp.OpCancelJob, id2, "alice"), goipp.StatusOk)
	if attrOf(t, getJob(t, addr, DefaultQueue, id2), "job-state") != "7" {
		t.Error("canceled job not in state canceled")
	}
	id3 := create("alice")
	wantStatus(t, jobOp(goipp.OpCloseJob, id3, "alice"), goipp.StatusOk)
	if attrOf(t, getJob(t, addr, DefaultQueue, id3), "job-state") != "8" {
		t.Error("job closed without a document not aborted")
	}
	id4, id5 := create("carol"), create("carol")
	wantStatus(t, jobOp(goipp.OpCancelMyJobs, 0, "carol"), goipp.StatusOk)
	for _, id := range []int{id4, id5} {
		if attrOf(t, getJob(t, addr, DefaultQueue, id), "job-state") != "7" {
			t.Errorf("job %d not canceled by Cancel-My-Jobs", id)
		}
	}
	wantStatus(t, jobOp(goipp.OpGetJobAttributes, 9999, "alice"), goipp.StatusErrorNotFound)

	// Get-Jobs: completed jobs, my-jobs, limit.
	m := newReq(goipp.OpGetJobs, addr, DefaultQueue, "carol")
	m.Operation.Add(attrKeyword("which-jobs", "completed"))
	m.Operation.Add(attrBool("my-jobs", true))
	m.Operation.Add(attrInt("limit", 1))
	r := call(t, addr, DefaultQueue, m, nil)
	wantStatus(t, r, goipp.StatusOk)
	if n := len(r.Groups) - 1; n != 1 || attrOf(t, r.Groups[1].Attrs, "job-id") != itoa(id5) {
		t.Errorf("Get-Jobs returned %v", r.Groups)
	}
	m = newReq(goipp.OpGetJobs, addr, DefaultQueue, "carol")
	m.Operation.Add(attrKeyword("which-jobs", "proof-print"))
	wantStatus(t, call(t, addr, DefaultQueue, m, nil), goipp.StatusErrorAttributesOrValues)
}

func itoa(i int) string { return string(goipp.Integer(i).String()) }

func TestMultipleOperationTimeout(t *testing.T) {
	var now atomic.Int64
	now.Store(1_800_000_000)
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	_, addr := startServer(t, &memSpooler{}, Config{Now: clock, MultipleOperationTimeout: time.Minute})
	r := call(t, addr, DefaultQueue, newReq(goipp.OpCreateJob, addr, DefaultQueue, "alice"), nil)
	id := jobIDOf(t, r)
	now.Add(120)
	if attrOf(t, getJob(t, addr, DefaultQueue, id), "job-state") != "8" {
		t.Error("job without document not aborted after multiple-operation-time-out")
	}
}

func TestTemplateValidation(t *testing.T) {
	_, addr := startServer(t, &memSpooler{}, Config{})
	r := printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF, attrInt("copies", 5000))
	wantStatus(t, r, goipp.StatusOkIgnoredOrSubstituted)
	if _, ok := findAttr(r.Unsupported, "copies"); !ok {
		t.Error("copies not listed as unsupported")
	}
	m := newReq(goipp.OpValidateJob, addr, DefaultQueue, "alice")
	m.Operation.Add(attrBool("ipp-attribute-fidelity", true))
	m.Job.Add(attrKeyword("sides", "three-sided"))
	wantStatus(t, call(t, addr, DefaultQueue, m, nil), goipp.StatusErrorAttributesOrValues)
	m = newReq(goipp.OpValidateJob, addr, DefaultQueue, "alice")
	m.Job.Add(attrColl("media-col", goipp.Collection{
		goipp.MakeAttribute("media-size", goipp.TagBeginCollection, goipp.Collection{attrInt("x-dimension", 21000), attrInt("y-dimension", 29700)}),
	}))
	m.Job.Add(goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 1, Upper: 3}))
	wantStatus(t, call(t, addr, DefaultQueue, m, nil), goipp.StatusOk)
	m = newReq(goipp.OpValidateJob, addr, DefaultQueue, "alice")
	m.Operation.Add(attrKeyword("compression", "gzip"))
	wantStatus(t, call(t, addr, DefaultQueue, m, nil), goipp.StatusErrorCompressionNotSupported)
}

func TestPrinterAttributeGroups(t *testing.T) {
	_, addr := startServer(t, &memSpooler{}, Config{}, Queue{Name: "opj", Recipients: []string{"m@x.example"}})
	get := func(queue string, req ...string) goipp.Attributes {
		m := newReq(goipp.OpGetPrinterAttributes, addr, queue, "")
		if len(req) > 0 {
			m.Operation.Add(attrKeyword("requested-attributes", req...))
		}
		r := call(t, addr, queue, m, nil)
		wantStatus(t, r, goipp.StatusOk)
		return r.Printer
	}
	all := get("opj")
	if _, ok := findAttr(all, "media-col-database"); ok {
		t.Error("media-col-database returned without being requested")
	}
	if attrOf(t, all, "printer-name") != "opj" || attrOf(t, all, "printer-info") != "Sealed to m@x.example" {
		t.Errorf("queue identity wrong")
	}
	if _, ok := findAttr(get("opj", "all", "media-col-database"), "media-col-database"); !ok {
		t.Error("media-col-database missing when requested")
	}
	tmpl := get("opj", "job-template")
	if _, ok := findAttr(tmpl, "printer-name"); ok {
		t.Error("job-template group holds printer-name")
	}
	if _, ok := findAttr(tmpl, "sides-supported"); !ok {
		t.Error("job-template group lacks sides-supported")
	}
	desc := get("opj", "printer-description")
	if _, ok := findAttr(desc, "sides-supported"); ok {
		t.Error("printer-description group holds sides-supported")
	}
	// pdl-override-supported is a Printer Description attribute (RFC 8011
	// section 5.4.28), not a Job Template one.
	if _, ok := findAttr(desc, "pdl-override-supported"); !ok {
		t.Error("printer-description group lacks pdl-override-supported")
	}
	if _, ok := findAttr(tmpl, "pdl-override-supported"); ok {
		t.Error("job-template group holds pdl-override-supported")
	}
	if _, ok := findAttr(get("opj", "media-col-database"), "printer-name"); ok {
		t.Error("requested-attributes=media-col-database alone returned printer-name")
	}
	if attrOf(t, get(DefaultQueue, "printer-uuid"), "printer-uuid") == attrOf(t, get("opj", "printer-uuid"), "printer-uuid") {
		t.Error("two queues share a printer-uuid")
	}
	m := newReq(goipp.OpGetPrinterAttributes, addr, "nosuch", "")
	wantStatus(t, call(t, addr, "nosuch", m, nil), goipp.StatusErrorNotFound)
}

// Queues are asked on every request: a change takes effect without a
// restart.
func TestQueuesChangeLive(t *testing.T) {
	var mu sync.Mutex
	var queues []Queue
	set := func(q ...Queue) {
		mu.Lock()
		queues = q
		mu.Unlock()
	}
	_, addr := startServer(t, &memSpooler{}, Config{Queues: func() []Queue {
		mu.Lock()
		defer mu.Unlock()
		return queues
	}})
	get := func(queue string) goipp.Status {
		return status(call(t, addr, queue, newReq(goipp.OpGetPrinterAttributes, addr, queue, ""), nil))
	}
	if get(DefaultQueue) != goipp.StatusOk || get("opj") != goipp.StatusErrorNotFound {
		t.Fatal("initial queues wrong")
	}
	set(Queue{Name: "opj", Recipients: []string{"m@x.example"}})
	if get("opj") != goipp.StatusOk {
		t.Fatal("added queue not picked up")
	}
	set()
	if get("opj") != goipp.StatusErrorNotFound {
		t.Fatal("removed queue still served")
	}
}

func TestValidQueueName(t *testing.T) {
	for _, ok := range []string{"sealed", "OPJ-Lyon_2", "a.b"} {
		if err := ValidQueueName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "a b", "a/b", "é", string(make([]byte, 128))} {
		if ValidQueueName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestJobHistoryBounded(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{MaxJobs: 3})
	for i := 0; i < 10; i++ {
		wantStatus(t, printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF), goipp.StatusOk)
	}
	m := newReq(goipp.OpGetJobs, addr, DefaultQueue, "alice")
	m.Operation.Add(attrKeyword("which-jobs", "all"))
	if n := len(call(t, addr, DefaultQueue, m, nil).Groups) - 1; n != 3 {
		t.Errorf("%d jobs kept, want 3", n)
	}
	for i := 0; i < 3; i++ {
		wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpCreateJob, addr, DefaultQueue, "alice"), nil), goipp.StatusOk)
	}
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpCreateJob, addr, DefaultQueue, "alice"), nil), goipp.StatusErrorBusy)
}

// blockSpooler holds Accept until released.
type blockSpooler struct {
	started chan struct{}
	release chan struct{}
}

func (b *blockSpooler) Accept(ctx context.Context, job JobInfo, doc io.Reader) error {
	io.Copy(io.Discard, doc)
	b.started <- struct{}{}
	<-b.release
	return nil
}

func TestJobWhileSpooling(t *testing.T) {
	sp := &blockSpooler{started: make(chan struct{}), release: make(chan struct{})}
	_, addr := startServer(t, sp, Config{})
	done := make(chan *goipp.Message)
	go func() { done <- printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF) }()
	<-sp.started
	m := newReq(goipp.OpGetJobs, addr, DefaultQueue, "alice")
	m.Operation.Add(attrKeyword("requested-attributes", "job-id", "job-state"))
	r := call(t, addr, DefaultQueue, m, nil)
	if len(r.Groups) != 2 || attrOf(t, r.Groups[1].Attrs, "job-state") != "5" {
		t.Fatalf("job being spooled not listed as processing: %v", r.Groups)
	}
	var id int
	fmt.Sscan(attrOf(t, r.Groups[1].Attrs, "job-id"), &id)
	c := newReq(goipp.OpCancelJob, addr, DefaultQueue, "alice")
	c.Operation.Add(attrInt("job-id", id))
	wantStatus(t, call(t, addr, DefaultQueue, c, nil), goipp.StatusErrorNotPossible)
	close(sp.release)
	wantStatus(t, <-done, goipp.StatusOk)
	if attrOf(t, getJob(t, addr, DefaultQueue, id), "job-state") != "9" {
		t.Error("job not completed once spooled")
	}
}

func TestNotAccepting(t *testing.T) {
	var full atomic.Bool
	state := func() PrinterState {
		if full.Load() {
			return PrinterState{Accepting: false, Reasons: []string{"spool-area-full"}, Message: "Disk full"}
		}
		return PrinterState{Accepting: true}
	}
	_, addr := startServer(t, &memSpooler{}, Config{State: state})
	wantStatus(t, printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF), goipp.StatusOk)
	full.Store(true)
	wantStatus(t, printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF), goipp.StatusErrorNotAcceptingJobs)
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpCreateJob, addr, DefaultQueue, "alice"), nil), goipp.StatusErrorNotAcceptingJobs)
	r := call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, ""), nil)
	if attrOf(t, r.Printer, "printer-is-accepting-jobs") != "false" || attrOf(t, r.Printer, "printer-state-reasons") != "spool-area-full" ||
		attrOf(t, r.Printer, "printer-state") != "5" || attrOf(t, r.Printer, "printer-state-message") != "Disk full" {
		t.Errorf("printer state not reported: %v", r.Printer)
	}
}
