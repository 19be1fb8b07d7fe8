package printer

// opIdentifyPrinter handles Identify-Printer (PWG 5100.13): there is no
// panel to flash, so the request is logged and passed to Config.OnIdentify.
func (s *Server) opIdentifyPrinter(rq *request) error {
	s.cfg.Logger.Info("identify printer requested", "queue", rq.queue.Name, "user", rq.user)
	if s.cfg.OnIdentify != nil {
		s.cfg.OnIdentify(rq.queue.Name)
	}
	return nil
}
