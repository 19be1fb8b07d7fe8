package spooler

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoPreview is returned by OpenPDF for a job whose PDF is not (or no
// longer) in the spool: not rendered yet, or already sealed.
var ErrNoPreview = errors.New("no preview: the document is not rendered yet or has left the spool")

// OpenPDF streams a rendered job's PDF, decrypted on the fly from the
// spool (it is never written in clear), for the sender to check before
// releasing it. It is available while the job is rendered or held.
func (s *Spooler) OpenPDF(id string) (io.ReadCloser, error) {
	j, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if j.Stage != Rendered && j.Stage != Held {
		return nil, ErrNoPreview
	}
	rc, err := s.st.openEncrypted(id, pdfFile, pdfFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPreview
	}
	if err != nil {
		return nil, fmt.Errorf("preview job %s: %w", id, err)
	}
	return rc, nil
}
