package printer

import "github.com/OpenPrinting/goipp"

// opValidateJob handles Validate-Job (RFC 8011 section 4.2.3): the same
// checks as Print-Job, without a document.
func (s *Server) opValidateJob(rq *request) error {
	if err := s.checkAccepting(); err != nil {
		return err
	}
	if _, err := checkTemplate(rq); err != nil {
		return err
	}
	if err := checkCompression(rq); err != nil {
		return err
	}
	f, ok, err := stringValue(rq.msg.Operation, "document-format", goipp.TagMimeType)
	if err != nil {
		return err
	}
	if ok && !formatSupported(f) {
		return &ippError{Status: goipp.StatusErrorDocumentFormatNotSupported,
			Msg:         "document format " + f + " is not supported",
			Unsupported: goipp.Attributes{attrStrings("document-format", goipp.TagMimeType, f)}}
	}
	return nil
}
