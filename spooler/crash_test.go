package spooler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// TestCrashRecovery prints N jobs (SEALPRINT_CRASH_JOBS, default 20;
// scripts/crash runs 200): the first half while 'sealprint serve' is
// SIGKILLed at random moments, the second half while the relay is. Afterwards every job
// is uploaded exactly once: the relay holds N drops, no duplicates, and
// each opens to its own document. A scanner checks that no plaintext of
// any job is ever in the sender's state or temp dirs.
func TestCrashRecovery(t *testing.T) {
	testutil.NeedIntegration(t)
	if testing.Short() {
		t.Skip("crash test runs in the full pass (scripts/test) and in scripts/crash")
	}
	total := 20
	if v := os.Getenv("SEALPRINT_CRASH_JOBS"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil || total < 2 {
			t.Fatalf("SEALPRINT_CRASH_JOBS=%q", v)
		}
	}
	n := total / 2
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	var rngMu sync.Mutex
	randDur := func(lo, hi time.Duration) time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return lo + time.Duration(rng.Int64N(int64(hi-lo)))
	}
	t.Logf("seed %d, %d jobs", seed, total)

	w := newWorld(t, "--retry-min", "100ms", "--retry-max", "1s", "--poll", "1h")
	w.startServe()
	start := time.Now()
	names := make([]string, total)
	markers := make([][]byte, total)
	docs := make([][]byte, total)
	for i := range total {
		names[i] = fmt.Sprintf("crash-%04d", i)
		markers[i] = fmt.Appendf(nil, "CRASH-MARKER-%04d-%08x", i, rng.Uint32())
		docs[i] = makePDF("Report " + string(markers[i]))
	}

	// The plaintext scanner.
	stopScan := make(chan struct{})
	scanDone := make(chan []string)
	go func() {
		var hits []string
		scans := 0
		for {
			hits = append(hits, scanForMarker([]string{w.sender, w.tmp}, []byte("CRASH-MARKER-"))...)
			scans++
			select {
			case <-stopScan:
				t.Logf("plaintext scans of the state and temp dirs: %d", scans)
				scanDone <- hits
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	var acked, ambiguous, resent atomic.Int64
	// submit prints jobs [lo, hi) with 4 concurrent clients. A print whose
	// answer was lost is resent only if the spool does not have it.
	submit := func(lo, hi int) {
		ch := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ch {
					for {
						ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
						t0 := time.Now()
						err := printIPP(ctx, w.addr, "martin", names[i], docs[i])
						cancel()
						if testing.Verbose() && time.Since(t0) > time.Second {
							t.Logf("print %s took %s: %v", names[i], time.Since(t0), err)
						}
						if err == nil {
							acked.Add(1)
							break
						}
						if w.spoolHas(names[i]) {
							ambiguous.Add(1)
							break
						}
						resent.Add(1)
						time.Sleep(randDur(20*time.Millisecond, 100*time.Millisecond))
					}
					time.Sleep(randDur(0, 100*time.Millisecond))
				}
			}()
		}
		for i := lo; i < hi; i++ {
			ch <- i
		}
		close(ch)
		wg.Wait()
	}
	// killer SIGKILLs and restarts a process at random moments until stop,
	// and at least minKills times.
	const minKills = 3
	killer := func(kill, restart func(), stop <-chan struct{}, count *int, first time.Duration) {
		for {
			wait := time.After(first)
			first = randDur(100*time.Millisecond, 700*time.Millisecond)
			select {
			case <-stop:
				if *count >= minKills {
					return
				}
				<-wait
			case <-wait:
			}
			kill()
			*count++
			time.Sleep(randDur(0, 300*time.Millisecond))
			restart()
		}
	}

	// Phase 1: the service dies while jobs arrive and flow.
	serveKills := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		killer(w.stopServe, w.startServe, stop, &serveKills, randDur(100*time.Millisecond, 700*time.Millisecond))
		close(done)
	}()
	submit(0, n)
	time.Sleep(randDur(50*time.Millisecond, 400*time.Millisecond))
	close(stop)
	<-done
	phase1 := time.Since(start)

	// Phase 2: the relay dies while jobs arrive and upload.
	relayKills := 0
	stop, done = make(chan struct{}), make(chan struct{})
	go func() {
		killer(w.stopRelay, w.startRelay, stop, &relayKills, randDur(0, 50*time.Millisecond))
		close(done)
	}()
	submit(n, total)
	phase2 := time.Since(start) - phase1
	time.Sleep(randDur(200*time.Millisecond, 800*time.Millisecond))
	close(stop)
	<-done

	// Every job gets uploaded, once.
	jobs := w.waitAllUploaded(names, 10*time.Minute)
	drained := time.Since(start)
	close(stopScan)
	hits := <-scanDone
	if len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}

	// The relay holds exactly one drop per job.
	var drops []struct {
		ID string `json:"id"`
	}
	out := w.run(nil, w.sealrelay, "drops", "list", "--data", w.relayData, "--json")
	if err := json.Unmarshal([]byte(out), &drops); err != nil {
		t.Fatalf("drops list: %v: %.200s", err, out)
	}
	onRelay := map[string]bool{}
	for _, d := range drops {
		onRelay[d.ID] = true
	}
	seen := map[string]string{}
	for _, j := range jobs {
		if prev, dup := seen[j.DropID]; dup {
			t.Fatalf("jobs %s and %s share drop %s", prev, j.Name, j.DropID)
		}
		seen[j.DropID] = j.Name
		if !onRelay[j.DropID] {
			t.Fatalf("job %s: drop %s not on the relay", j.Name, j.DropID)
		}
	}
	if len(drops) != total {
		t.Fatalf("relay holds %d drops for %d jobs", len(drops), total)
	}

	// Each drop opens, signed, to its own document.
	for i, name := range names {
		got, res := w.openLink(jobs[name].Link)
		// The marker is in the delivered PDF as raw bytes, so the scanner
		// would have seen any plaintext copy.
		if !bytes.Contains(got, markers[i]) {
			t.Fatalf("job %s opened to another document", name)
		}
		if res["verified"] != true {
			t.Fatalf("job %s: signature not verified: %v", name, res)
		}
	}
	attempts := 0
	for _, j := range jobs {
		for _, h := range j.History {
			if h.State == spooler.Failed {
				attempts++
			}
		}
	}
	logs := w.logText()
	relayRetries := strings.Count(logs, "relay call failed; retrying") + strings.Count(logs, "upload interrupted; resuming")
	summary := fmt.Sprintf("crash test: %d jobs; sealprint serve SIGKILLed %d times (phase 1, %s), relay SIGKILLed %d times (phase 2, %s); "+
		"%d prints acknowledged, %d answers lost but job kept, %d resent (never stored); %d failed job steps retried, %d relay calls retried by the uploader; "+
		"relay holds %d drops, duplicates 0, all %d open to their own document, signed; plaintext found on disk: 0; "+
		"all uploaded after %s",
		total, serveKills, phase1.Round(time.Millisecond), relayKills, phase2.Round(time.Millisecond), acked.Load(), ambiguous.Load(), resent.Load(), attempts, relayRetries,
		len(drops), total, drained.Round(time.Millisecond))
	t.Log(summary)
}

// spoolHas reports whether the sender's spool has a job named name,
// asking until an answer comes (the service may be restarting).
func (w *world) spoolHas(name string) bool {
	for i := 0; ; i++ {
		jobs, err := w.jobs()
		if err == nil {
			for _, j := range jobs {
				if j.Name == name {
					return true
				}
			}
			return false
		}
		if i > 500 {
			w.t.Errorf("cannot list jobs: %v", err)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAllUploaded waits until each name has exactly one job, uploaded.
func (w *world) waitAllUploaded(names []string, limit time.Duration) map[string]jobView {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		jobs, err := w.jobs()
		byName := map[string]jobView{}
		pending := 0
		if err == nil {
			for _, j := range jobs {
				if prev, dup := byName[j.Name]; dup {
					w.t.Fatalf("job %s spooled twice: %s and %s", j.Name, prev.ID, j.ID)
				}
				byName[j.Name] = j
				if j.State == spooler.Failed && j.Permanent {
					w.t.Fatalf("job %s failed for good: %s", j.Name, j.Error)
				}
			}
			for _, n := range names {
				if j, ok := byName[n]; !ok || j.State != spooler.Uploaded {
					pending++
				}
			}
			if pending == 0 && len(jobs) == len(names) {
				return byName
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d jobs not uploaded (err %v)", pending, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
