package printer

import "github.com/OpenPrinting/goipp"

// opCancelMyJobs handles Cancel-My-Jobs (PWG 5100.11): cancels the
// requesting user's jobs on the queue that still wait for their document,
// or those of them in job-ids.
func (s *Server) opCancelMyJobs(rq *request) error {
	var only map[int32]bool
	if a, ok := findAttr(rq.msg.Operation, "job-ids"); ok {
		only = map[int32]bool{}
		for _, v := range a.Values {
			i, ok := v.V.(goipp.Integer)
			if v.T != goipp.TagInteger || !ok {
				return &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad job-ids", Unsupported: goipp.Attributes{a}}
			}
			only[int32(i)] = true
		}
	}
	jobs := s.jobs.list(func(j *job) bool {
		return j.Queue == rq.queue.Name && j.User == rq.user && j.State == jobPending && (only == nil || only[j.ID])
	})
	for _, j := range jobs {
		s.jobs.update(j.ID, func(j *job) error {
			if j.State == jobPending {
				s.jobs.finish(j, jobCanceled, "job-canceled-by-user", "Canceled by "+rq.user)
			}
			return nil
		})
	}
	return nil
}
