package printer

// opIdentifyPrinter handles Identify-Printer (PWG 5100.13): there is no
// panel to flash, so the request is logged for the sender to see.
func (s *Server) opIdentifyPrinter(rq *request) error {
	s.cfg.Logger.Info("identify printer requested", "queue", rq.queue.Name, "user", rq.user)
	return nil
}
