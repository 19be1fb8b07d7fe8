// Command relay is the load test of scripts/bench relay: it starts, on
// loopback only, an embedded sealrelay (SQLite + files) and sealrelay
// replicas on PostgreSQL and versitygw (one, and two behind haproxy), and
// in the same run nginx serving the same blobs as static files and
// tusd's own server storing uploads on the same storage; it sends them
// concurrent downloads and uploads with the relay's real protocol (drop
// information, access-code grant, ranged blob reads with the download
// token; drop creation, tus creation and PATCH, completion) and prints
// throughput, latency, each server's peak RSS and the ratios to the
// goals. Every server is started fresh for each round; the best of
// -rounds is kept.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// opts are the command's flags.
type opts struct {
	sealrelay, tusd, versitygw, work string
	sizeMiB, downloads, uploads      int
	small, drops, rounds             int
	pin                              bool
	groups, profile, only, relayEnv  string
	timeout                          time.Duration
}

func main() {
	var o opts
	flag.StringVar(&o.sealrelay, "sealrelay", "", "sealrelay binary")
	flag.StringVar(&o.tusd, "tusd", "", "tusd binary (v2.9.1)")
	flag.StringVar(&o.versitygw, "versitygw", "", "versitygw binary (v1.8.0)")
	flag.StringVar(&o.work, "work", "", "work directory (temp files, logs; removed by the caller)")
	flag.IntVar(&o.sizeMiB, "size", 10, "document size, MiB")
	flag.IntVar(&o.downloads, "downloads", 1000, "concurrent downloads")
	flag.IntVar(&o.uploads, "uploads", 200, "concurrent uploads")
	flag.IntVar(&o.small, "small", 100, "the smaller concurrency whose peak RSS is compared")
	flag.IntVar(&o.drops, "drops", 100, "drops the downloads are spread over")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds per scenario (best kept)")
	flag.BoolVar(&o.pin, "pin", true, "also run the replicas pinned to one core each (taskset)")
	flag.StringVar(&o.groups, "groups", "embedded,s3", "which storages to test: embedded, s3")
	flag.StringVar(&o.only, "only", "", "run only the scenarios whose name matches this regular expression")
	flag.StringVar(&o.profile, "profile", "", "write each relay's CPU, block and mutex profiles to this directory (-sealrelay built with -tags relayprofile)")
	flag.StringVar(&o.relayEnv, "relay-env", "", "extra environment of the sealrelay processes only, space-separated (e.g. 'GOGC=50')")
	flag.DurationVar(&o.timeout, "timeout", 40*time.Minute, "stop everything after this long")
	flag.Parse()
	if o.sealrelay == "" || o.work == "" {
		fmt.Fprintln(os.Stderr, "usage: relay -sealrelay BIN -tusd BIN -versitygw BIN -work DIR [flags]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runBench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench relay:", err)
		os.Exit(1)
	}
}

// bench is the state of one run.
type bench struct {
	o     opts
	data  []byte
	sum   string
	size  int64
	res   map[string]result
	order []string
}

func runBench(ctx context.Context, o opts) error {
	b := &bench{o: o, res: map[string]result{}}
	b.data = make([]byte, o.sizeMiB<<20)
	rand.Read(b.data)
	s := sha256.Sum256(b.data)
	b.sum, b.size = hex.EncodeToString(s[:]), int64(len(b.data))
	t0 := time.Now()
	load0 := loadavg()
	fmt.Fprintf(os.Stderr, "bench relay: %d MiB documents, %d concurrent downloads, %d concurrent uploads, best of %d; load average %s\n",
		o.sizeMiB, o.downloads, o.uploads, o.rounds, load0)

	dd, err := ddSpeed(ctx, o.work, o.uploads*o.sizeMiB)
	if err != nil {
		return err
	}
	var loads []string
	for _, g := range strings.Split(o.groups, ",") {
		var err error
		switch g {
		case "embedded":
			err = b.embedded(ctx)
		case "s3":
			err = b.s3(ctx)
		default:
			err = fmt.Errorf("unknown group %q", g)
		}
		loads = append(loads, loadavg())
		if err != nil {
			b.print(dd, time.Since(t0), load0, loads) // what was measured
			return fmt.Errorf("%s: %w", g, err)
		}
	}
	b.print(dd, time.Since(t0), load0, loads)
	return nil
}

// ddSpeed is the disk's raw durable write speed in MiB/s: dd of mib MiB
// with conv=fdatasync, in the work directory.
func ddSpeed(ctx context.Context, work string, mib int) (float64, error) {
	f := filepath.Join(work, "dd.bin")
	defer os.Remove(f)
	syncDisk()
	t0 := time.Now()
	if _, err := run(ctx, nil, "dd", "if=/dev/zero", "of="+f, "bs=1M", fmt.Sprintf("count=%d", mib), "conv=fdatasync", "status=none"); err != nil {
		return 0, err
	}
	return float64(mib) / time.Since(t0).Seconds(), nil
}

// servers are the processes of one scenario round.
type servers struct {
	base string
	rss  []*proc // whose peak RSS is reported
	tree bool    // sum each rss process's children (nginx workers)
	all  []*proc // stopped in this order
}

func (s *servers) stop() {
	for _, p := range s.all {
		p.stop()
	}
}

// scenario is one measured line of the table.
type scenario struct {
	name string
	conc int
	// before runs before the servers start (an embedded relay's data dir
	// takes one process at a time).
	before func(ctx context.Context) error
	start  func(ctx context.Context, round string) (*servers, error)
	// syncAfter counts, in the round's wall time, a sync of the file
	// systems after the last job: the time until what a server that does
	// not fsync acknowledged is on disk too.
	syncAfter bool
	// prepare returns the job to run against a started round and what
	// to do after it (with the servers still up).
	prepare func(ctx context.Context, s *servers) (job, func(), error)
}

// runGroup runs every scenario for each round, in the other order on
// odd rounds so that caches and the machine's other load favour none.
func (b *bench) runGroup(ctx context.Context, all []scenario) error {
	re, err := regexp.Compile(b.o.only)
	if err != nil {
		return fmt.Errorf("-only: %w", err)
	}
	var list []scenario
	for _, sc := range all {
		if re.MatchString(sc.name) {
			list = append(list, sc)
		}
	}
	for r := 0; r < b.o.rounds; r++ {
		for k := range list {
			sc := list[k]
			if r%2 == 1 {
				sc = list[len(list)-1-k]
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			res, err := b.round(ctx, sc, fmt.Sprintf("%d-%d", r, k))
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			var rss []string
			for _, v := range res.rss {
				rss = append(rss, fmt.Sprintf("%.0f", float64(v)/(1<<20)))
			}
			fmt.Fprintf(os.Stderr, "  %-52s round %d: %7.0f MiB/s  p50 %6.0f ms  p99 %6.0f ms  errors %d  RSS MiB %s  load %s\n",
				sc.name, r+1, res.mibps(), ms(res.pct(0.5)), ms(res.pct(0.99)), res.errs, strings.Join(rss, " "), loadavg())
			if res.firstErr != "" {
				fmt.Fprintf(os.Stderr, "    first error: %s\n", res.firstErr)
			}
			best, seen := b.res[sc.name]
			if !seen {
				b.order = append(b.order, sc.name)
			}
			if !seen || res.errs < best.errs || (res.errs == best.errs && res.mibps() > best.mibps()) {
				// RSS: the highest seen in any round.
				for i := range res.rss {
					if i < len(best.rss) && best.rss[i] > res.rss[i] {
						res.rss[i] = best.rss[i]
					}
				}
				b.res[sc.name] = res
			} else {
				for i := range res.rss {
					if i < len(best.rss) && res.rss[i] > best.rss[i] {
						best.rss[i] = res.rss[i]
					}
				}
			}
		}
	}
	return nil
}

func (b *bench) round(ctx context.Context, sc scenario, round string) (result, error) {
	if sc.before != nil {
		if err := sc.before(ctx); err != nil {
			return result{}, err
		}
	}
	syncDisk()
	s, err := sc.start(ctx, round)
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	j, after, err := sc.prepare(ctx, s)
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	res := load(ctx, sc.conc, j)
	if sc.syncAfter {
		syncDisk()
		res.wall = time.Since(t0)
	}
	for _, p := range s.rss {
		res.rss = append(res.rss, p.peakRSS(s.tree))
	}
	for _, p := range s.all {
		if p.exited() {
			return res, fmt.Errorf("%s exited during the round:\n%s", p.name, p.tail())
		}
	}
	if after != nil {
		after()
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
