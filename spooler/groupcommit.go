package spooler

import (
	"fmt"
	"os"
	"sync"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// Group commit of new jobs. Accept writes a job's encrypted files into
// incoming/<id>/ without syncing them and hands the job to the committer
// goroutine. The committer takes every job waiting at that moment as one
// batch and makes it durable together:
//
//  1. fsync every file of the batch and every incoming/<id>/ directory, all
//     at once (the file system folds them into one journal commit);
//  2. rename each incoming/<id>/ to jobs/<id>/;
//  3. fsync jobs/ once for the whole batch (this runs while the next
//     batch is synced; overlapping requests share one directory fsync);
//
// and only then answers each Accept. A crash before step 3 completes
// leaves only jobs that were never acknowledged: in incoming/ (removed at
// start), or in jobs/ and complete, since nothing is renamed before its
// files and entries are durable (the client, unanswered, may then print it
// again, as before group commit). Jobs arriving while a batch is
// being committed form the next batch, so the cost of the fsyncs is shared
// by as many jobs as arrive during one.

// maxParallelSyncs bounds the fsyncs of a batch that run at once.
const maxParallelSyncs = 64

// pendingJob is a received job waiting to be committed.
type pendingJob struct {
	id    string
	dir   string     // incoming/<id>
	final string     // jobs/<id>
	files []*os.File // written, not yet synced; closed by the Accept
	done  chan error // the outcome; buffered
}

// groupCommitter makes received jobs durable in batches.
type groupCommitter struct {
	jobsSync *dirSyncer // fsyncs jobs/ for batches, shared when they overlap
	queue    chan *pendingJob
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	inflight sync.WaitGroup // batches waiting for their directory sync
}

func newGroupCommitter(jobsDir string) *groupCommitter {
	return &groupCommitter{
		jobsSync: newDirSyncer(jobsDir),
		queue:    make(chan *pendingJob),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// run commits batches until close is called.
func (g *groupCommitter) run() {
	defer close(g.stopped)
	for {
		select {
		case <-g.stop:
			return
		case p := <-g.queue:
			batch := []*pendingJob{p}
		more:
			for {
				select {
				case p := <-g.queue:
					batch = append(batch, p)
				default:
					break more
				}
			}
			g.commitBatch(batch)
		}
	}
}

// close stops the committer once the batch in progress is committed;
// later submissions fail with ErrClosed.
func (g *groupCommitter) close() {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.stopped
	g.inflight.Wait()
}

// submit hands p to the committer and waits until it is durable in
// jobs/ (nil) or was not committed (an error; p may then be in either
// place and the caller removes it). It does not give up on the context
// once the committer has the job, since the job's directory is the
// committer's until it answers.
func (g *groupCommitter) submit(p *pendingJob) error {
	p.done = make(chan error, 1)
	select {
	case g.queue <- p:
	case <-g.stopped:
		return ErrClosed
	}
	return <-p.done
}

// commitNow makes batch durable now, on the caller's goroutine, and
// returns each job's outcome.
func (g *groupCommitter) commitNow(batch []*pendingJob) []error {
	if len(batch) == 0 {
		return nil
	}
	for _, p := range batch {
		p.done = make(chan error, 1)
	}
	g.commitBatch(batch)
	errs := make([]error, len(batch))
	for i, p := range batch {
		errs[i] = <-p.done
	}
	return errs
}

// commitBatch makes a batch durable and answers each of its jobs.
func (g *groupCommitter) commitBatch(batch []*pendingJob) {
	// 1. Contents and directory entries of each job, all at once.
	errs := make([]error, len(batch))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sema := make(chan struct{}, maxParallelSyncs)
	fail := func(i int, err error) {
		mu.Lock()
		if errs[i] == nil {
			errs[i] = err
		}
		mu.Unlock()
	}
	for i, p := range batch {
		for _, f := range p.files {
			wg.Add(1)
			sema <- struct{}{}
			go func() {
				defer func() { <-sema; wg.Done() }()
				if err := f.Sync(); err != nil {
					fail(i, fmt.Errorf("sync: %w", err))
				}
			}()
		}
		wg.Add(1)
		sema <- struct{}{}
		go func() {
			defer func() { <-sema; wg.Done() }()
			if err := atomicfile.SyncDir(p.dir); err != nil {
				fail(i, err)
			}
		}()
	}
	wg.Wait()

	// 2. Move each durable job into jobs/.
	renamed := 0
	for i, p := range batch {
		if errs[i] != nil {
			continue
		}
		if err := atomicfile.Rename(p.dir, p.final); err != nil {
			errs[i] = err
			continue
		}
		renamed++
	}

	// 3. One directory sync makes the renames durable. It runs while the
	// committer takes on the next batch: a sync that starts after these
	// renames covers them, whichever batch asked for it.
	g.inflight.Add(1)
	go func() {
		defer g.inflight.Done()
		if renamed > 0 {
			if err := g.jobsSync.sync(); err != nil {
				for i := range batch {
					if errs[i] == nil {
						errs[i] = err
					}
				}
			}
		}
		for i, p := range batch {
			p.done <- errs[i]
		}
	}()
}
