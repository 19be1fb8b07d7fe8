package printer

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/OpenPrinting/goipp"
)

// IPP job states (RFC 8011 section 5.3.7).
const (
	jobPending           = 3
	jobPendingHeld       = 4
	jobProcessing        = 5
	jobProcessingStopped = 6
	jobCanceled          = 7
	jobAborted           = 8
	jobCompleted         = 9
)

// job is one print job. Fields are guarded by jobStore.mu; callers get
// copies through snapshot.
type job struct {
	ID       int32
	UUID     string
	Queue    string
	Name     string
	User     string
	Format   string
	Template goipp.Attributes // accepted job template attributes
	Text     map[string]string

	State   int
	Reasons []string
	Message string
	Docs    int
	Octets  int64

	Created    time.Time
	Processing time.Time
	Completed  time.Time
}

// jobStore keeps the recent jobs in memory, oldest first.
type jobStore struct {
	mu      sync.Mutex
	next    int32
	byID    map[int32]*job
	byUUID  map[string]*job
	order   []*job
	max     int
	now     func() time.Time
	timeout time.Duration
}

func newJobStore(max int, now func() time.Time, timeout time.Duration) *jobStore {
	// Job ids restart from the clock so that ids of a previous run (which
	// a client may still poll) are not reused after a restart.
	first := int32(1)
	if s := now().Unix() - 1_700_000_000; s > 0 && s < 1<<30 {
		first = int32(s)
	}
	return &jobStore{next: first, byID: map[int32]*job{}, byUUID: map[string]*job{}, max: max, now: now, timeout: timeout}
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// add registers j, assigning its ID, UUID and creation time, and forgets
// the oldest finished jobs beyond the history limit. When the history is
// full of unfinished jobs the new job is refused with server-error-busy.
func (st *jobStore) add(j *job) (job, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire()
	j.ID = st.next
	st.next++
	if st.next <= 0 {
		st.next = 1
	}
	j.UUID = newUUID()
	j.Created = st.now()
	st.byID[j.ID] = j
	st.byUUID[j.UUID] = j
	st.order = append(st.order, j)
	for len(st.order) > st.max {
		victim := -1
		for i, o := range st.order {
			if o.State >= jobCanceled {
				victim = i
				break
			}
		}
		if victim < 0 {
			st.dropLocked(j)
			return job{}, errorf(goipp.StatusErrorBusy, "too many unfinished jobs")
		}
		o := st.order[victim]
		delete(st.byID, o.ID)
		delete(st.byUUID, o.UUID)
		st.order = append(st.order[:victim], st.order[victim+1:]...)
	}
	return j.snapshot(), nil
}

// remove forgets job id (a job that never really existed, e.g. refused
// because the spooler was busy).
func (st *jobStore) remove(id int32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if j := st.byID[id]; j != nil {
		st.dropLocked(j)
	}
}

// dropLocked forgets j. Callers hold st.mu.
func (st *jobStore) dropLocked(j *job) {
	delete(st.byID, j.ID)
	delete(st.byUUID, j.UUID)
	for i, o := range st.order {
		if o == j {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
}

// snapshot returns a copy of j safe to read without the lock.
func (j *job) snapshot() job {
	c := *j
	c.Reasons = append([]string(nil), j.Reasons...)
	return c
}

// expire aborts jobs that waited for a document longer than the timeout.
// Callers hold st.mu.
func (st *jobStore) expire() {
	now := st.now()
	for _, j := range st.order {
		if j.State == jobPending && j.Docs == 0 && now.Sub(j.Created) > st.timeout {
			st.finish(j, jobAborted, "aborted-by-system", "no document received in time")
		}
	}
}

// finish moves j to a terminal state. Callers hold st.mu.
func (st *jobStore) finish(j *job, state int, reason, msg string) {
	j.State = state
	j.Reasons = []string{reason}
	if msg != "" {
		j.Message = msg
	}
	j.Completed = st.now()
	if j.Processing.IsZero() {
		j.Processing = j.Completed
	}
}

// get returns a copy of job id.
func (st *jobStore) get(id int32) (job, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire()
	j := st.byID[id]
	if j == nil {
		return job{}, false
	}
	return j.snapshot(), true
}

// update runs f on job id under the lock and returns the resulting copy.
func (st *jobStore) update(id int32, f func(j *job) error) (job, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire()
	j := st.byID[id]
	if j == nil {
		return job{}, errorf(goipp.StatusErrorNotFound, "job %d not found", id)
	}
	if err := f(j); err != nil {
		return j.snapshot(), err
	}
	return j.snapshot(), nil
}

// setMessage sets the job-state-message of the job with the given UUID.
func (st *jobStore) setMessage(uuid, msg string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	j := st.byUUID[uuid]
	if j == nil {
		return false
	}
	j.Message = msg
	return true
}

// list returns copies of the jobs matching keep, newest first.
func (st *jobStore) list(keep func(j *job) bool) []job {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire()
	var out []job
	for i := len(st.order) - 1; i >= 0; i-- {
		if keep(st.order[i]) {
			out = append(out, st.order[i].snapshot())
		}
	}
	return out
}

// SetJobMessage sets the job-state-message shown for a job (delivery
// progress: "sealed", "uploaded", "downloaded by …", "failed: …"). jobID is
// JobInfo.ID. It reports whether the job is still known.
func (s *Server) SetJobMessage(jobID, msg string) bool {
	if len(msg) > 1023 {
		msg = msg[:1023]
	}
	return s.jobs.setMessage(jobID, msg)
}
