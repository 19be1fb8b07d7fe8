package spooler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// The spool directory:
//
//	jobs/<id>/record      the job's encrypted record, replaced atomically
//	jobs/<id>/doc.enc     the document as printed (encrypted, until rendered)
//	jobs/<id>/pdf.enc     the rendered PDF (encrypted, until sealed)
//	jobs/<id>/sealed.pgp  the sealed OpenPGP message (until uploaded)
//	incoming/<id>/        a job being received; never acknowledged if found at start
//	intake/<n>.log        small received jobs not yet moved to jobs/ (see intake.go)
const (
	jobsDir     = "jobs"
	incomingDir = "incoming"
	recordFile  = "record"
	docFile     = "doc.enc"
	pdfFile     = "pdf.enc"
	sealedFile  = "sealed.pgp"
)

// idPattern matches job ids: "job-" and 26 base32 characters.
var idPattern = regexp.MustCompile(`^job-[a-z2-7]{26}$`)

// ValidID reports whether s has the form of a job id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// store reads and writes the spool directory.
type store struct {
	root string
	c    *cryptor
}

func (s *store) jobDir(id string) string { return filepath.Join(s.root, jobsDir, id) }

func (s *store) path(id, name string) string { return filepath.Join(s.jobDir(id), name) }

// init creates the directories and removes jobs that were never
// acknowledged (left in incoming/ by a crash).
func (s *store) init() error {
	for _, d := range []string{s.root, filepath.Join(s.root, jobsDir), filepath.Join(s.root, incomingDir), filepath.Join(s.root, intakeDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create spool: %w", err)
		}
	}
	in := filepath.Join(s.root, incomingDir)
	ents, err := os.ReadDir(in)
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(in, e.Name())); err != nil {
			return fmt.Errorf("clean spool: %w", err)
		}
	}
	return nil
}

// record is what is stored of a job: the job and its hidden fields.
type record struct {
	*Job
	SessionKey  []byte            `json:"session_key,omitempty"`
	LinkSecret  string            `json:"link_secret,omitempty"`
	LinkSecrets map[string]string `json:"link_secrets,omitempty"`
	AccessCode  string            `json:"access_code,omitempty"`
}

// sealedRecord returns j's record, encrypted.
func (s *store) sealedRecord(j *Job) ([]byte, error) {
	plain, err := json.Marshal(record{Job: j, SessionKey: j.SessionKey, LinkSecret: j.LinkSecret, LinkSecrets: j.LinkSecrets, AccessCode: j.AccessCode})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return s.c.sealRecord(j.ID, plain)
}

// writeRecord stores j's record atomically.
func (s *store) writeRecord(j *Job) error {
	sealed, err := s.sealedRecord(j)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path(j.ID, recordFile), sealed, 0o600); err != nil {
		return fmt.Errorf("record job %s: %w", j.ID, err)
	}
	return nil
}

// readRecord loads a job's record.
func (s *store) readRecord(id string) (*Job, error) {
	b, err := os.ReadFile(s.path(id, recordFile))
	if err != nil {
		return nil, err
	}
	plain, err := s.c.openRecord(id, b)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	defer clear(plain)
	r := record{Job: &Job{}}
	if err := json.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("job %s: %w", id, ErrCorrupt)
	}
	if r.ID != id {
		return nil, fmt.Errorf("job %s: %w", id, ErrCorrupt)
	}
	r.Job.SessionKey = r.SessionKey
	r.Job.LinkSecret, r.Job.LinkSecrets, r.Job.AccessCode = r.LinkSecret, r.LinkSecrets, r.AccessCode
	return r.Job, nil
}

// list returns the ids of the stored jobs.
func (s *store) list() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, jobsDir))
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// removeJob deletes a job's directory.
func (s *store) removeJob(id string) error {
	if err := os.RemoveAll(s.jobDir(id)); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Join(s.root, jobsDir))
}

// removeFile deletes one artifact of a job, if present.
func (s *store) removeFile(id, name string) error {
	err := os.Remove(s.path(id, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// cleanTemps removes temp files left in a job directory by a crash.
func (s *store) cleanTemps(id string) {
	ents, _ := os.ReadDir(s.jobDir(id))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(s.jobDir(id), e.Name()))
		}
	}
}

// create writes an encrypted artifact of job id through fill, atomically:
// nothing is at the final name unless fill succeeded and the file is
// fsynced. fill gets a writer of plaintext when encrypted is true, else a
// writer to the file itself.
func (s *store) create(id, name, purpose string, encrypted bool, fill func(w io.Writer) error) error {
	return atomicfile.Write(s.path(id, name), 0o600, func(f io.Writer) error {
		if !encrypted {
			return fill(f)
		}
		ew, err := s.c.newEncryptWriter(f, id, purpose)
		if err != nil {
			return err
		}
		if err := fill(ew); err != nil {
			return err
		}
		return ew.Close()
	})
}

// openEncrypted returns a reader of the plaintext of an encrypted artifact.
func (s *store) openEncrypted(id, name, purpose string) (io.ReadCloser, error) {
	f, err := os.Open(s.path(id, name))
	if err != nil {
		return nil, err
	}
	d, err := s.c.newDecryptReader(f, id, purpose)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s of job %s: %w", name, id, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{d, f}, nil
}

// createSpoolFile creates a new spool file, readable only by its owner.
func createSpoolFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// stage writes a job's encrypted document and sealed record into a fresh
// incoming/<id>/ without syncing them, for the group commit to make
// durable and move into jobs/. The returned job's files are open; on
// error nothing is left.
func (s *store) stage(id string, doc, record []byte) (*pendingJob, error) {
	dir := filepath.Join(s.root, incomingDir, id)
	os.RemoveAll(dir) // a failed earlier attempt
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pendingJob{id: id, dir: dir, final: s.jobDir(id)}
	for _, f := range []struct {
		name string
		data []byte
	}{{docFile, doc}, {recordFile, record}} {
		fh, err := createSpoolFile(filepath.Join(dir, f.name))
		if err == nil {
			p.files = append(p.files, fh)
			_, err = fh.Write(f.data)
		}
		if err != nil {
			for _, fh := range p.files {
				fh.Close()
			}
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return p, nil
}
