package printer

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// jobName returns the job-name operation attribute, else document-name,
// else "Untitled".
func jobName(rq *request) string {
	for _, n := range []string{"job-name", "document-name"} {
		a, ok := findAttr(rq.msg.Operation, n)
		if ok && len(a.Values) == 1 && (a.Values[0].T == goipp.TagName || a.Values[0].T == goipp.TagNameLang) {
			if s := sanitizeName(textValue(a.Values[0].V)); s != "" {
				return s
			}
		}
	}
	return "Untitled"
}

// checkCompression accepts only compression "none" (or none given).
func checkCompression(rq *request) error {
	a, ok := findAttr(rq.msg.Operation, "compression")
	if !ok {
		return nil
	}
	if len(a.Values) == 1 && a.Values[0].T == goipp.TagKeyword && textValue(a.Values[0].V) == "none" {
		return nil
	}
	return &ippError{Status: goipp.StatusErrorCompressionNotSupported,
		Msg: "compression is not supported", Unsupported: goipp.Attributes{a}}
}

// spool hands the request's document to the spooler for job id and moves
// the job to completed (or aborted). removeIfBusy forgets the job when the
// spooler is busy (Print-Job); otherwise the job waits for a retry.
func (s *Server) spool(rq *request, id int32, format string, removeIfBusy bool) (job, error) {
	now := s.cfg.Now()
	j, err := s.jobs.update(id, func(j *job) error {
		j.State = jobProcessing
		j.Reasons = []string{"job-incoming"}
		j.Processing = now
		j.Format = format
		return nil
	})
	if err != nil {
		return j, err
	}
	info := JobInfo{ID: j.UUID, Queue: j.Queue, Name: j.Name, User: j.User, Format: format,
		Recipients: slices.Clone(rq.queue.Recipients), Attrs: maps.Clone(j.Text), Created: j.Created}
	err = s.sp.Accept(rq.ctx, info, rq.body)
	octets := rq.body.n
	switch {
	case err == nil:
		j, _ = s.jobs.update(id, func(j *job) error {
			j.Docs++
			j.Octets += octets
			if j.State == jobProcessing {
				s.jobs.finish(j, jobCompleted, "job-completed-successfully", "")
			}
			return nil
		})
		s.cfg.Logger.Info("job spooled", "job", j.UUID, "ipp-job-id", j.ID, "queue", j.Queue, "format", format, "bytes", octets)
		return j, nil
	case isBusy(err):
		if removeIfBusy {
			s.jobs.remove(id)
		} else {
			s.jobs.update(id, func(j *job) error {
				j.State, j.Reasons, j.Processing = jobPending, nil, j.Created
				return nil
			})
		}
		return j, errorf(goipp.StatusErrorBusy, "the spooler is busy, try again later")
	case errors.Is(err, ErrTooLarge):
		s.abort(id, "document too large")
		return j, errorf(goipp.StatusErrorRequestEntity, "document larger than %d bytes", s.cfg.MaxDocumentBytes)
	default:
		reason := oneLine(err.Error())
		s.abort(id, reason)
		s.cfg.Logger.Warn("job aborted", "job", j.UUID, "err", reason)
		return j, errorf(goipp.StatusErrorJobCanceled, "job aborted: %s", reason)
	}
}

// abort moves job id to aborted with a reason.
func (s *Server) abort(id int32, reason string) {
	s.jobs.update(id, func(j *job) error {
		s.jobs.finish(j, jobAborted, "aborted-by-system", reason)
		return nil
	})
}

// jobSummary returns the job attributes answered by job-creating
// operations.
func (s *Server) jobSummary(rq *request, j job) goipp.Group {
	all := s.jobAttrs(rq, j)
	return jobGroup(filterAttrs(all, []string{"job-id", "job-uri", "job-state", "job-state-reasons",
		"job-state-message", "number-of-intervening-jobs", "job-uuid"}, nil))
}

// oneLine folds a message onto one line of at most 255 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 255 {
		s = s[:255]
	}
	return s
}
