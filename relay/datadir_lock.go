package relay

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sealprint/sealprint/internal/filelock"
)

// LockFile is the file the process that owns the data dir holds locked
// (flock on Unix, LockFileEx on Windows) for as long as it runs; it holds
// that process's id.
func (d DataDir) LockFile() string { return filepath.Join(d.Root, "sealrelay.lock") }

// ErrDataDirBusy is wrapped by the error of Open and Lock when another
// process owns the data dir.
var ErrDataDirBusy = errors.New("data directory already in use by another sealrelay")

// DataDirBusyError says which process owns a data dir. PID is 0 when it
// could not be read.
type DataDirBusyError struct {
	Dir string
	PID int
}

func (e *DataDirBusyError) Error() string {
	who, qui := "", ""
	if e.PID > 0 {
		who, qui = fmt.Sprintf(" (pid %d)", e.PID), fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("le répertoire de données %s est déjà utilisé par un autre sealrelay%s : arrêtez-le d'abord / "+
		"the data directory %s is already used by another sealrelay%s: stop it first", e.Dir, qui, e.Dir, who)
}

// Unwrap makes errors.Is(err, ErrDataDirBusy) hold.
func (e *DataDirBusyError) Unwrap() error { return ErrDataDirBusy }

// Lock makes this process the data dir's only owner until the returned
// closer is closed (or the process ends, however it ends). The audit log
// is chained in memory by the process that appends to it, and uploads in
// progress are locked in memory too: two owners would interleave their
// audit lines and break the chain. Open takes this lock; admin commands,
// which only write SQLite in transactions and files by atomic rename, do
// not need it.
func (d DataDir) Lock() (io.Closer, error) {
	l, err := filelock.TryLock(d.LockFile())
	var le *filelock.LockedError
	if errors.As(err, &le) {
		return nil, &DataDirBusyError{Dir: d.Root, PID: le.PID}
	}
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return l, nil
}
