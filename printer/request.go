package printer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// Limits on the attribute section of a request, before any document data.
const (
	maxHeaderBytes = 256 << 10 // encoded attributes
	maxAttrValues  = 4096      // attributes + values + collection members
	maxDrainBytes  = 64 << 20  // unread body read after an error answer
)

// request is one IPP request being handled.
type request struct {
	ctx   context.Context
	http  *http.Request
	msg   *goipp.Message
	queue Queue
	user  string
	body  *docReader
	// ownJobsOnly limits the jobs the client sees to its own (an
	// identified local account, see peer.go).
	ownJobsOnly bool

	// Response parts filled by the operation.
	status      goipp.Status
	message     string
	unsupported goipp.Attributes
	groups      goipp.Groups
}

// opFunc handles one operation.
type opFunc func(s *Server, rq *request) error

// operations maps each supported operation to its handler (one file each).
var operations map[goipp.Op]opFunc

func init() {
	operations = map[goipp.Op]opFunc{
		goipp.OpPrintJob:             (*Server).opPrintJob,
		goipp.OpValidateJob:          (*Server).opValidateJob,
		goipp.OpCreateJob:            (*Server).opCreateJob,
		goipp.OpSendDocument:         (*Server).opSendDocument,
		goipp.OpCancelJob:            (*Server).opCancelJob,
		goipp.OpCancelMyJobs:         (*Server).opCancelMyJobs,
		goipp.OpCloseJob:             (*Server).opCloseJob,
		goipp.OpGetJobAttributes:     (*Server).opGetJobAttributes,
		goipp.OpGetJobs:              (*Server).opGetJobs,
		goipp.OpGetPrinterAttributes: (*Server).opGetPrinterAttributes,
		goipp.OpIdentifyPrinter:      (*Server).opIdentifyPrinter,
	}
}

// supportedOps lists operations-supported, in numeric order.
var supportedOps = []goipp.Op{
	goipp.OpPrintJob, goipp.OpValidateJob, goipp.OpCreateJob, goipp.OpSendDocument,
	goipp.OpCancelJob, goipp.OpGetJobAttributes, goipp.OpGetJobs, goipp.OpGetPrinterAttributes,
	goipp.OpCancelMyJobs, goipp.OpCloseJob, goipp.OpIdentifyPrinter,
}

// countingReader fails once more than limit bytes were read from it.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

var errHeaderTooLarge = errors.New("request attributes too large")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.limit-c.n {
		p = p[:c.limit-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// idleReader sets a read deadline before each read, so a client that
// stops sending in the middle of a request is dropped after idle.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.rc.SetReadDeadline(time.Now().Add(ir.idle)) // unsupported writers: no deadline
	return ir.r.Read(p)
}

// serveIPP decodes an IPP request, runs its operation and writes the answer.
func (s *Server) serveIPP(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/ipp" {
		http.Error(w, "expected Content-Type: application/ipp", http.StatusUnsupportedMediaType)
		return
	}
	br := bufio.NewReaderSize(&idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.cfg.ReadIdleTimeout}, 32<<10)
	var msg goipp.Message
	if err := msg.Decode(&countingReader{r: br, limit: maxHeaderBytes}); err != nil {
		s.cfg.Logger.Debug("bad ipp request", "remote", r.RemoteAddr, "err", err)
		// The stream is out of step: answer and close the connection.
		w.Header().Set("Connection", "close")
		resp := goipp.NewResponse(goipp.MakeVersion(1, 1), goipp.StatusErrorBadRequest, 0)
		addOperationHeader(resp, "malformed request")
		writeResponse(w, resp)
		return
	}
	rq := &request{
		ctx:  r.Context(),
		http: r,
		msg:  &msg,
		body: newDocReader(br, s.cfg.MaxDocumentBytes),
	}
	resp := s.handle(rq, r.PathValue("queue"))
	if !rq.body.consumed() {
		// Read what the client is still sending so it can read our answer;
		// give up (closing the connection) on very large leftovers.
		n, _ := io.Copy(io.Discard, io.LimitReader(br, maxDrainBytes))
		if n == maxDrainBytes {
			w.Header().Set("Connection", "close")
		}
	}
	writeResponse(w, resp)
}

// handle validates the request header, runs the operation and builds the
// response message.
func (s *Server) handle(rq *request, pathQueue string) *goipp.Message {
	m := rq.msg
	version := m.Version
	status, text := s.run(rq, pathQueue)
	if version.Major() < 1 || version.Major() > 2 {
		version = goipp.MakeVersion(1, 1)
	}
	resp := goipp.NewResponse(version, status, m.RequestID)
	addOperationHeader(resp, text)
	if len(rq.unsupported) > 0 {
		resp.Groups.Add(goipp.Group{Tag: goipp.TagUnsupportedGroup, Attrs: rq.unsupported})
	}
	if status < 0x0400 {
		for _, g := range rq.groups {
			resp.Groups.Add(g)
		}
	}
	return resp
}

// run checks the parts of a request common to all operations (RFC 8011
// section 4.1) and calls the operation.
func (s *Server) run(rq *request, pathQueue string) (goipp.Status, string) {
	m := rq.msg
	if m.Version.Major() < 1 || m.Version.Major() > 2 {
		return goipp.StatusErrorVersionNotSupported, "IPP version " + m.Version.String() + " is not supported"
	}
	if m.RequestID == 0 {
		return goipp.StatusErrorBadRequest, "request-id must not be 0"
	}
	if n := countValues(m.Groups, 0); n > maxAttrValues {
		return goipp.StatusErrorRequestEntity, "too many attributes"
	}
	if err := checkGroups(m); err != nil {
		return statusOf(err)
	}
	op := operations[goipp.Op(m.Code)]
	if op == nil {
		return goipp.StatusErrorOperationNotSupported, "operation " + goipp.Op(m.Code).String() + " is not supported"
	}
	if err := s.resolveTarget(rq, pathQueue); err != nil {
		return statusOf(err)
	}
	user, err := s.identify(rq)
	if err != nil {
		return statusOf(err)
	}
	rq.user = user
	rq.status = goipp.StatusOk
	if err := op(s, rq); err != nil {
		st, msg := statusOf(err)
		var ie *ippError
		if errors.As(err, &ie) && len(ie.Unsupported) > 0 {
			rq.unsupported = append(rq.unsupported, ie.Unsupported...)
		}
		if st == goipp.StatusErrorInternal {
			s.cfg.Logger.Warn("ipp operation failed", "op", goipp.Op(m.Code).String(), "err", err)
		}
		return st, msg
	}
	if rq.status == goipp.StatusOk && len(rq.unsupported) > 0 {
		rq.status = goipp.StatusOkIgnoredOrSubstituted
	}
	return rq.status, rq.message
}

// countValues counts attributes, values and collection members, stopping
// early once the limit is exceeded.
func countValues(groups goipp.Groups, depth int) int {
	n := 0
	for _, g := range groups {
		n += countAttrs(g.Attrs, depth)
		if n > maxAttrValues {
			return n
		}
	}
	return n
}

func countAttrs(attrs goipp.Attributes, depth int) int {
	n := 0
	for _, a := range attrs {
		n++
		for _, v := range a.Values {
			n++
			if c, ok := v.V.(goipp.Collection); ok {
				if depth > 8 {
					return maxAttrValues + 1
				}
				n += countAttrs(goipp.Attributes(c), depth+1)
			}
			if n > maxAttrValues {
				return n
			}
		}
	}
	return n
}

// checkGroups checks the operation attributes header: attributes-charset
// then attributes-natural-language, first and single-valued.
func checkGroups(m *goipp.Message) error {
	if len(m.Groups) == 0 || m.Groups[0].Tag != goipp.TagOperationGroup {
		return errorf(goipp.StatusErrorBadRequest, "missing operation attributes")
	}
	seen := map[goipp.Tag]bool{}
	for _, g := range m.Groups {
		if g.Tag == goipp.TagOperationGroup && seen[g.Tag] {
			return errorf(goipp.StatusErrorBadRequest, "repeated operation attributes group")
		}
		seen[g.Tag] = true
	}
	op := m.Operation
	if len(op) < 2 || op[0].Name != "attributes-charset" || op[1].Name != "attributes-natural-language" {
		return errorf(goipp.StatusErrorBadRequest, "attributes-charset and attributes-natural-language must come first")
	}
	cs := op[0]
	if len(cs.Values) != 1 || cs.Values[0].T != goipp.TagCharset {
		return errorf(goipp.StatusErrorBadRequest, "bad attributes-charset")
	}
	switch strings.ToLower(cs.Values[0].V.String()) {
	case "utf-8", "us-ascii":
	default:
		return &ippError{Status: goipp.StatusErrorCharset, Msg: "unsupported charset",
			Unsupported: goipp.Attributes{cs}}
	}
	nl := op[1]
	if len(nl.Values) != 1 || nl.Values[0].T != goipp.TagLanguage {
		return errorf(goipp.StatusErrorBadRequest, "bad attributes-natural-language")
	}
	names := map[string]bool{}
	for _, a := range op {
		if names[a.Name] {
			return errorf(goipp.StatusErrorBadRequest, "attribute %q repeated", a.Name)
		}
		names[a.Name] = true
		if len(a.Values) == 0 {
			return errorf(goipp.StatusErrorBadRequest, "attribute %q has no value", a.Name)
		}
	}
	return nil
}

// addOperationHeader adds the response's operation attributes.
func addOperationHeader(resp *goipp.Message, text string) {
	g := goipp.Group{Tag: goipp.TagOperationGroup}
	g.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	g.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	if text != "" {
		if len(text) > 255 {
			text = text[:255]
		}
		g.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(text)))
	}
	resp.Groups = append(goipp.Groups{g}, resp.Groups...)
}

// writeResponse encodes resp as the HTTP answer.
func writeResponse(w http.ResponseWriter, resp *goipp.Message) {
	var buf bytes.Buffer
	if err := resp.Encode(&buf); err != nil {
		http.Error(w, "encode ipp response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ipp")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
