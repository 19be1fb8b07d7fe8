package printer

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// jobOps are the operations addressed to a job (printer-uri + job-id, or
// job-uri).
var jobOps = map[goipp.Op]bool{
	goipp.OpSendDocument: true, goipp.OpCancelJob: true, goipp.OpCloseJob: true,
	goipp.OpGetJobAttributes: true,
}

// resolveTarget finds the queue (and for job operations the job id) the
// request is addressed to, from printer-uri or job-uri.
func (s *Server) resolveTarget(rq *request, pathQueue string) error {
	op := goipp.Op(rq.msg.Code)
	printerURI, hasPrinter, err := stringValue(rq.msg.Operation, "printer-uri", goipp.TagURI)
	if err != nil {
		return err
	}
	jobURI, hasJob, err := stringValue(rq.msg.Operation, "job-uri", goipp.TagURI)
	if err != nil {
		return err
	}
	var name string
	switch {
	case hasPrinter:
		n, ok := queueFromPath(printerURI)
		if !ok {
			return errorf(goipp.StatusErrorNotFound, "no printer at %s", printerURI)
		}
		name = n
	case hasJob && jobOps[op]:
		n, id, ok := jobFromURI(jobURI)
		if !ok {
			return errorf(goipp.StatusErrorNotFound, "no job at %s", jobURI)
		}
		name = n
		rq.msg.Operation = append(rq.msg.Operation, attrInt("job-id", int(id)))
	default:
		return errorf(goipp.StatusErrorBadRequest, "missing printer-uri")
	}
	if name == "" {
		name = pathQueue
	}
	if name == "" {
		name = DefaultQueue
	}
	q, ok := s.lookupQueue(name)
	if !ok {
		return errorf(goipp.StatusErrorNotFound, "no queue named %q", name)
	}
	rq.queue = q
	return nil
}

// queueFromPath returns the queue name in an IPP printer URI
// (.../ipp/print or .../ipp/print/<queue>); "" means the default queue.
func queueFromPath(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ipp" && u.Scheme != "ipps" && u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p == "/ipp/print" {
		return "", true
	}
	name, ok := strings.CutPrefix(p, "/ipp/print/")
	if !ok || ValidQueueName(name) != nil {
		return "", false
	}
	return name, true
}

// jobFromURI parses a job URI (<printer-uri>/<job-id>).
func jobFromURI(raw string) (string, int32, bool) {
	i := strings.LastIndexByte(raw, '/')
	if i < 0 {
		return "", 0, false
	}
	id, err := strconv.ParseInt(raw[i+1:], 10, 32)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	name, ok := queueFromPath(raw[:i])
	return name, int32(id), ok
}

// jobURI returns the URI of job id on the queue, as seen by rq's client.
func (s *Server) jobURI(rq *request, queue string, id int32) string {
	return s.printerURI(rq, queue) + "/" + strconv.Itoa(int(id))
}

// printerURI returns the URI of a queue as seen by rq's client.
func (s *Server) printerURI(rq *request, queue string) string {
	return "ipp://" + requestHost(rq.http, s.cfg.Listen) + "/ipp/print/" + queue
}

// requestingUser returns the authenticated user, else the
// requesting-user-name, else "anonymous".
func requestingUser(rq *request) string {
	if u, _, ok := rq.http.BasicAuth(); ok && u != "" && !isLoopbackRemote(rq.http.RemoteAddr) {
		return sanitizeName(u)
	}
	a, ok := findAttr(rq.msg.Operation, "requesting-user-name")
	if ok && len(a.Values) == 1 && (a.Values[0].T == goipp.TagName || a.Values[0].T == goipp.TagNameLang) {
		if u := sanitizeName(textValue(a.Values[0].V)); u != "" {
			return u
		}
	}
	return "anonymous"
}

// sanitizeName trims a client-supplied name to 127 bytes of printable
// characters.
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			continue
		}
		if b.Len()+len(string(r)) > 127 {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// jobID returns the job-id operation attribute.
// ownJob checks that job j, numbered id, was created on the request's
// queue (else it is not found there) and by the request's user.
func ownJob(rq *request, j *job, id int32) error {
	if j.Queue != rq.queue.Name {
		return errorf(goipp.StatusErrorNotFound, "job %d not found", id)
	}
	if j.User != rq.user {
		return errorf(goipp.StatusErrorNotAuthorized, "job %d belongs to another user", id)
	}
	return nil
}

func jobID(rq *request) (int32, error) {
	id, ok, err := intValue(rq.msg.Operation, "job-id")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errorf(goipp.StatusErrorBadRequest, "missing job-id")
	}
	if id <= 0 {
		return 0, errorf(goipp.StatusErrorNotFound, "job %d not found", id)
	}
	return int32(id), nil
}
