package printer

import "github.com/OpenPrinting/goipp"

// opCancelJob handles Cancel-Job (RFC 8011 section 4.3.3). Jobs already
// spooled are completed and cannot be canceled here (the sender manages
// them in sealprint's own job list).
func (s *Server) opCancelJob(rq *request) error {
	id, err := jobID(rq)
	if err != nil {
		return err
	}
	_, err = s.jobs.update(id, func(j *job) error {
		if j.Queue != rq.queue.Name {
			return errorf(goipp.StatusErrorNotFound, "job %d not found", id)
		}
		if j.User != rq.user {
			return errorf(goipp.StatusErrorNotAuthorized, "job %d belongs to another user", id)
		}
		if j.State >= jobCanceled {
			return errorf(goipp.StatusErrorNotPossible, "job %d is already finished", id)
		}
		s.jobs.finish(j, jobCanceled, "job-canceled-by-user", "Canceled by "+rq.user)
		return nil
	})
	return err
}
