package printer

import "github.com/OpenPrinting/goipp"

// opCloseJob handles Close-Job (PWG 5100.11): the client sends no more
// documents. A job that never got one is aborted.
func (s *Server) opCloseJob(rq *request) error {
	id, err := jobID(rq)
	if err != nil {
		return err
	}
	_, err = s.jobs.update(id, func(j *job) error {
		if err := ownJob(rq, j, id); err != nil {
			return err
		}
		switch {
		case j.State == jobCompleted || j.State == jobProcessing:
			return nil
		case j.State >= jobCanceled:
			return errorf(goipp.StatusErrorNotPossible, "job %d is already finished", id)
		}
		s.jobs.finish(j, jobAborted, "aborted-by-system", "closed without a document")
		return nil
	})
	return err
}
