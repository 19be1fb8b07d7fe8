package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// print writes the table and the ratios to stdout.
func (b *bench) print(dd float64, wall time.Duration, load0 string, loads []string) {
	o := b.o
	w := os.Stdout
	fmt.Fprintf(w, "\nsealrelay load test: %d MiB documents, best of %d rounds, fresh servers each round, loopback\n", o.sizeMiB, o.rounds)
	fmt.Fprintf(w, "%-52s %6s %8s %8s %8s %6s  %s\n", "scenario", "conc", "MiB/s", "p50 ms", "p99 ms", "errors", "peak RSS MiB (each server)")
	fmt.Fprintf(w, "%-52s %6s %8.0f\n", fmt.Sprintf("disk raw write (dd %d MiB conv=fdatasync)", o.uploads*o.sizeMiB), "-", dd)
	for _, name := range b.order {
		r := b.res[name]
		var rss []string
		for _, v := range r.rss {
			rss = append(rss, fmt.Sprintf("%.0f", float64(v)/(1<<20)))
		}
		fmt.Fprintf(w, "%-52s %6d %8.0f %8.0f %8.0f %6d  %s\n", name, r.n, r.mibps(), ms(r.pct(0.5)), ms(r.pct(0.99)), r.errs, strings.Join(rss, " "))
	}
	d, u, sm := o.downloads, o.uploads, o.small
	fmt.Fprintln(w, "\nratios (goal):")
	b.ratio(w, "downloads embedded relay / nginx (≥ 0.8)", 0.8,
		fmt.Sprintf("embedded download relay c=%d", d), fmt.Sprintf("embedded download nginx c=%d", d))
	b.ratio(w, "downloads 1 replica (S3) / nginx on the bucket's files (≥ 0.8)", 0.8,
		fmt.Sprintf("s3 download 1 replica c=%d", d), fmt.Sprintf("s3 download nginx c=%d", d))
	b.ratio(w, "downloads versitygw direct (presigned) / nginx (information)", 0,
		fmt.Sprintf("s3 download versitygw direct c=%d", d), fmt.Sprintf("s3 download nginx c=%d", d))
	b.ratio(w, "downloads 1 replica (S3) / versitygw direct (information)", 0,
		fmt.Sprintf("s3 download 1 replica c=%d", d), fmt.Sprintf("s3 download versitygw direct c=%d", d))
	b.ratio(w, "uploads embedded relay / tusd filestore (≥ 1.0)", 1.0,
		fmt.Sprintf("embedded upload relay c=%d", u), fmt.Sprintf("embedded upload tusd-filestore c=%d", u))
	b.ratio(w, "uploads embedded relay / (tusd filestore, then sync) (information)", 0,
		fmt.Sprintf("embedded upload relay c=%d", u), fmt.Sprintf("embedded upload tusd-filestore+sync c=%d", u))
	b.ratio(w, "uploads 1 replica (S3) / tusd s3store (≥ 1.0)", 1.0,
		fmt.Sprintf("s3 upload 1 replica c=%d", u), fmt.Sprintf("s3 upload tusd-s3store c=%d", u))
	b.ratio(w, "downloads 2 replicas / 1, both behind haproxy (≥ 1.7)", 1.7,
		fmt.Sprintf("s3 download haproxy+2 replicas c=%d", d), fmt.Sprintf("s3 download haproxy+1 replica c=%d", d))
	b.ratio(w, "uploads 2 replicas / 1, both behind haproxy (≥ 1.7)", 1.7,
		fmt.Sprintf("s3 upload haproxy+2 replicas c=%d", u), fmt.Sprintf("s3 upload haproxy+1 replica c=%d", u))
	b.ratio(w, "downloads 2 replicas on 2 cores / 1 on 1 core (≥ 1.7)", 1.7,
		fmt.Sprintf("s3 download haproxy+2 replicas on cpu0,cpu1 c=%d", d), fmt.Sprintf("s3 download haproxy+1 replica on cpu0 c=%d", d))
	b.ratio(w, "uploads 2 replicas on 2 cores / 1 on 1 core (≥ 1.7)", 1.7,
		fmt.Sprintf("s3 upload haproxy+2 replicas on cpu0,cpu1 c=%d", u), fmt.Sprintf("s3 upload haproxy+1 replica on cpu0 c=%d", u))
	b.rssRatio(w, fmt.Sprintf("peak RSS embedded relay, %d / %d downloads (≤ 2.0)", d, sm),
		fmt.Sprintf("embedded download relay c=%d", d), fmt.Sprintf("embedded download relay c=%d", sm))
	b.rssRatio(w, fmt.Sprintf("peak RSS 1 replica (S3), %d / %d downloads (≤ 2.0)", d, sm),
		fmt.Sprintf("s3 download 1 replica c=%d", d), fmt.Sprintf("s3 download 1 replica c=%d", sm))
	if r, ok := b.res[fmt.Sprintf("embedded upload relay c=%d", u)]; ok && dd > 0 {
		fmt.Fprintf(w, "  %-66s %5.2f\n", "uploads embedded relay / disk raw write (information)", r.mibps()/dd)
	}
	fmt.Fprintf(w, "\nwall time %s; load average (1, 5, 15 min) at start %s, after each storage %s\n",
		wall.Round(time.Second), load0, strings.Join(loads, "; "))
}

func (b *bench) ratio(w *os.File, label string, goal float64, num, den string) {
	n, ok1 := b.res[num]
	d, ok2 := b.res[den]
	if !ok1 || !ok2 || d.mibps() == 0 {
		return
	}
	v := n.mibps() / d.mibps()
	if goal == 0 {
		fmt.Fprintf(w, "  %-66s %5.2f\n", label, v)
		return
	}
	fmt.Fprintf(w, "  %-66s %5.2f  %s\n", label, v, verdict(v >= goal))
}

func (b *bench) rssRatio(w *os.File, label, num, den string) {
	n, ok1 := b.res[num]
	d, ok2 := b.res[den]
	if !ok1 || !ok2 || len(n.rss) == 0 || len(d.rss) == 0 || d.rss[0] == 0 {
		return
	}
	v := float64(n.rss[0]) / float64(d.rss[0])
	fmt.Fprintf(w, "  %-66s %5.2f  %s\n", label, v, verdict(v <= 2.0))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
