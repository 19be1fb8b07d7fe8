package printer

import (
	"errors"
	"fmt"

	"github.com/OpenPrinting/goipp"
)

// ippError is an error that maps to an IPP status code. Operations return it
// to answer the client with that status and message.
type ippError struct {
	Status goipp.Status
	Msg    string
	// Unsupported lists attributes to return in the unsupported group.
	Unsupported goipp.Attributes
}

func (e *ippError) Error() string { return fmt.Sprintf("%s: %s", e.Status, e.Msg) }

// errorf returns an *ippError with the given status.
func errorf(st goipp.Status, format string, a ...any) *ippError {
	return &ippError{Status: st, Msg: fmt.Sprintf(format, a...)}
}

// statusOf returns the IPP status for err: its own status for *ippError,
// server-error-internal-error otherwise.
func statusOf(err error) (goipp.Status, string) {
	var ie *ippError
	if errors.As(err, &ie) {
		return ie.Status, ie.Msg
	}
	return goipp.StatusErrorInternal, err.Error()
}
