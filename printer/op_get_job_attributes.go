package printer

import "github.com/OpenPrinting/goipp"

// opGetJobAttributes handles Get-Job-Attributes (RFC 8011 section 4.3.4).
func (s *Server) opGetJobAttributes(rq *request) error {
	id, err := jobID(rq)
	if err != nil {
		return err
	}
	j, ok := s.jobs.get(id)
	if !ok || j.Queue != rq.queue.Name || (rq.ownJobsOnly && j.User != rq.user) {
		return errorf(goipp.StatusErrorNotFound, "job %d not found", id)
	}
	attrs := filterAttrs(s.jobAttrs(rq, j), requestedAttrs(rq, "all"), jobGroups)
	rq.groups = append(rq.groups, jobGroup(attrs))
	return nil
}
