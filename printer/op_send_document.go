package printer

import "github.com/OpenPrinting/goipp"

// opSendDocument handles Send-Document (RFC 8011 section 4.3.1). A job has
// one document: it is spooled on arrival whatever last-document says; a
// later Send-Document may only close the job (no data, last-document true).
func (s *Server) opSendDocument(rq *request) error {
	id, err := jobID(rq)
	if err != nil {
		return err
	}
	last, ok, err := boolValue(rq.msg.Operation, "last-document")
	if err != nil {
		return err
	}
	if !ok {
		return errorf(goipp.StatusErrorBadRequest, "missing last-document")
	}
	j, ok := s.jobs.get(id)
	if !ok {
		return errorf(goipp.StatusErrorNotFound, "job %d not found", id)
	}
	if err := ownJob(rq, &j, id); err != nil {
		return err
	}
	hasData := len(rq.body.peek(1)) > 0
	if j.Docs > 0 || j.State != jobPending {
		if !hasData && last && j.State == jobCompleted {
			rq.groups = append(rq.groups, s.jobSummary(rq, j))
			return nil
		}
		if j.Docs > 0 && j.State == jobCompleted {
			return errorf(goipp.StatusErrorMultipleJobsNotSupported, "a job holds a single document")
		}
		return errorf(goipp.StatusErrorNotPossible, "job %d is not waiting for a document", id)
	}
	if err := checkCompression(rq); err != nil {
		return err
	}
	format, err := documentFormat(rq)
	if err != nil {
		return err
	}
	j, err = s.spool(rq, id, format, false)
	if err != nil {
		return err
	}
	rq.groups = append(rq.groups, s.jobSummary(rq, j))
	return nil
}
