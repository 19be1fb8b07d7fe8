package relay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A data dir has one owner: a second Open (a second `sealrelay serve` on
// the same --data) is refused and names the owner's pid, until the first
// one closes.
func TestDataDirOpenedOnce(t *testing.T) {
	d := DataDir{Root: t.TempDir()}
	_, closer, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = d.Open()
	var busy *DataDirBusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrDataDirBusy) || busy.PID != os.Getpid() {
		t.Fatalf("second Open: %v (want busy, pid %d)", err, os.Getpid())
	}
	for _, want := range []string{"déjà utilisé par un autre sealrelay (pid " + strconv.Itoa(os.Getpid()) + ")", "already used by another sealrelay"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	_, closer, err = d.Open()
	if err != nil {
		t.Fatalf("Open after the owner closed: %v", err)
	}
	closer.Close()
}

// A reader of a live log can see the relay's last line half written: that
// line is not yet part of the log (nothing was acknowledged after it), so
// verification passes and reports it instead of calling the chain broken.
func TestAuditVerifyWhileLineIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{EventCreate, EventUpload, EventComplete} {
		if err := a.Record(context.Background(), AuditEvent{At: time.Now(), Event: ev, Drop: "d1"}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	full, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(full, []byte("\n"))
	last := lines[len(lines)-2] // the last line, with its newline
	seen := full[:len(full)-len(last)+len(last)/2]
	rep, err := verifyAudit(bytes.NewReader(seen), nil)
	if err != nil || rep.Records != 2 || rep.Partial != int64(len(last)/2) {
		t.Fatalf("verify of a log seen mid-write: %+v, %v", rep, err)
	}
	evs, err := ReadDropEvents(bytes.NewReader(seen), "d1")
	if err != nil || len(evs) != 2 {
		t.Fatalf("drop events of a log seen mid-write: %d, %v", len(evs), err)
	}
	// An altered line before it is still found.
	bad := bytes.Replace(seen, []byte(`"create"`), []byte(`"revoke"`), 1)
	if _, err := VerifyAudit(bytes.NewReader(bad)); !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("altered line: %v", err)
	}
}
