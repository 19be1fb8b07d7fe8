package printer

import "github.com/OpenPrinting/goipp"

// opGetJobs handles Get-Jobs (RFC 8011 section 4.2.6) with which-jobs
// (completed, not-completed, all), my-jobs, limit and requested-attributes.
func (s *Server) opGetJobs(rq *request) error {
	which, ok, err := stringValue(rq.msg.Operation, "which-jobs", goipp.TagKeyword)
	if err != nil {
		return err
	}
	if !ok {
		which = "not-completed"
	}
	var keepState func(int) bool
	switch which {
	case "not-completed":
		keepState = func(st int) bool { return st < jobCanceled }
	case "completed":
		keepState = func(st int) bool { return st >= jobCanceled }
	case "all":
		keepState = func(int) bool { return true }
	default:
		a, _ := findAttr(rq.msg.Operation, "which-jobs")
		return &ippError{Status: goipp.StatusErrorAttributesOrValues,
			Msg: "which-jobs " + which + " is not supported", Unsupported: goipp.Attributes{a}}
	}
	mine, _, err := boolValue(rq.msg.Operation, "my-jobs")
	if err != nil {
		return err
	}
	limit, hasLimit, err := intValue(rq.msg.Operation, "limit")
	if err != nil {
		return err
	}
	if hasLimit && limit < 1 {
		a, _ := findAttr(rq.msg.Operation, "limit")
		return &ippError{Status: goipp.StatusErrorAttributesOrValues, Msg: "limit must be positive", Unsupported: goipp.Attributes{a}}
	}
	jobs := s.jobs.list(func(j *job) bool {
		return j.Queue == rq.queue.Name && keepState(j.State) && (!(mine || rq.ownJobsOnly) || j.User == rq.user)
	})
	if hasLimit && len(jobs) > limit {
		jobs = jobs[:limit]
	}
	req := requestedAttrs(rq, "job-id", "job-uri")
	for _, j := range jobs {
		rq.groups = append(rq.groups, jobGroup(filterAttrs(s.jobAttrs(rq, j), req, jobGroups)))
	}
	return nil
}
