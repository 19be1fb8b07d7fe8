package printer

import "github.com/OpenPrinting/goipp"

// opCancelJob handles Cancel-Job (RFC 8011 section 4.3.3). Only jobs still
// waiting for their document can be canceled here: jobs being or already
// spooled are managed in sealprint's own job list (sealprint jobs cancel).
func (s *Server) opCancelJob(rq *request) error {
	id, err := jobID(rq)
	if err != nil {
		return err
	}
	_, err = s.jobs.update(id, func(j *job) error {
		if err := ownJob(rq, j, id); err != nil {
			return err
		}
		if j.State >= jobCanceled {
			return errorf(goipp.StatusErrorNotPossible, "job %d is already finished", id)
		}
		if j.State == jobProcessing {
			// The document is being handed to the spooler; once spooled the
			// job is managed in sealprint's job list.
			return errorf(goipp.StatusErrorNotPossible, "job %d is being spooled", id)
		}
		s.jobs.finish(j, jobCanceled, "job-canceled-by-user", "Canceled by "+rq.user)
		return nil
	})
	return err
}
