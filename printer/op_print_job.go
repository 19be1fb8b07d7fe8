package printer

// opPrintJob handles Print-Job (RFC 8011 section 4.2.1): the job is
// created, its document streamed to the spooler, and the client answered
// once the spooler holds it durably.
func (s *Server) opPrintJob(rq *request) error {
	if err := s.checkAccepting(); err != nil {
		return err
	}
	tmpl, err := checkTemplate(rq)
	if err != nil {
		return err
	}
	if err := checkCompression(rq); err != nil {
		return err
	}
	format, err := documentFormat(rq)
	if err != nil {
		return err
	}
	j, err := s.jobs.add(&job{
		Queue: rq.queue.Name, Name: jobName(rq), User: rq.user,
		Template: tmpl.Attrs, Text: tmpl.Text, State: jobPending,
	})
	if err != nil {
		return err
	}
	j, err = s.spool(rq, j.ID, format, true)
	if err != nil {
		return err
	}
	rq.groups = append(rq.groups, s.jobSummary(rq, j))
	return nil
}
