package printer

// opCreateJob handles Create-Job (RFC 8011 section 4.2.4): the job waits
// for its document (Send-Document) up to multiple-operation-time-out.
func (s *Server) opCreateJob(rq *request) error {
	if err := s.checkAccepting(); err != nil {
		return err
	}
	tmpl, err := checkTemplate(rq)
	if err != nil {
		return err
	}
	j, err := s.jobs.add(&job{
		Queue: rq.queue.Name, Name: jobName(rq), User: rq.user,
		Template: tmpl.Attrs, Text: tmpl.Text, State: jobPending,
		Reasons: []string{"job-incoming"},
	})
	if err != nil {
		return err
	}
	rq.groups = append(rq.groups, s.jobSummary(rq, j))
	return nil
}
