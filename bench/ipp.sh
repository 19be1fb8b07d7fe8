#!/usr/bin/env bash
# Print-Job accept rate: 1 MiB PDF, 8 concurrent clients, 200 jobs, against
#   1. sealprint serve (real spooler: every acknowledged job is encrypted
#      with the spool key and fsynced; concurrent jobs are group-committed,
#      and the PDF conversion of received jobs runs alongside),
#   2. the printer package with a stand-in spooler that encrypts with
#      AES-256-GCM into one file per job and fsyncs file and directory,
#   3. the same with group commit: one log file, one fsync for every job
#      written before it started (each job still acknowledged only after
#      an fsync covering it),
#   4. CUPS' own cupsd (private instance, raw queue to file:///dev/null;
#      cupsd does not fsync),
# in the same run, and prints the ratios to cupsd.
# Environment: JOBS (200), CLIENTS (8), SIZE (1048576), ROUNDS (3: best of).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-200}
CLIENTS=${CLIENTS:-8}
SIZE=${SIZE:-1048576}
ROUNDS=${ROUNDS:-3}

for tool in /usr/sbin/cupsd lpadmin lpstat; do
	command -v "$tool" >/dev/null || { echo "bench/ipp.sh: $tool missing (apt-get install cups cups-client)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/sealprint-bench-ipp.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "http://$1/" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

echo "== build"
go build -o "$work/sealprint" ./cmd/sealprint
go build -o "$work/ippload" ./bench/ipp
"$work/ippload" -make-pdf "$SIZE" -file "$work/doc.pdf"
echo "document: $(stat -c %s "$work/doc.pdf") bytes PDF; $JOBS jobs, $CLIENTS clients, best of $ROUNDS rounds"

# best_rate NAME URI: runs the load ROUNDS times, prints each line, and
# sets RATE to the best jobs/s.
best_rate() {
	local name=$1 uri=$2 best=0 line r
	for i in $(seq "$ROUNDS"); do
		line=$("$work/ippload" -uri "$uri" -file "$work/doc.pdf" -n "$JOBS" -c "$CLIENTS")
		echo "  $name round $i: $line"
		r=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$line")
		best=$(python3 -c "print(max($best, $r))")
	done
	RATE=$best
}

echo "== sealprint serve (real spooler)"
export SEALPRINT_HOME="$work/home" SEALPRINT_KEYRING=file
"$work/sealprint" keys generate --name "Bench Sender" --email bench@hospital.example >/dev/null 2>&1
port=$(free_port)
"$work/sealprint" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pids+=($!)
wait_http "127.0.0.1:$port"
best_rate sealprint "ipp://127.0.0.1:$port/ipp/print/sealed"
serve_rate=$RATE
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

for mode in file group; do
	echo "== printer package + AES-GCM stand-in spooler, $mode"
	port=$(free_port)
	"$work/ippload" -serve "127.0.0.1:$port" -spool "$work/standin-$mode" -spooler "$mode" >"$work/standin.log" 2>&1 &
	pids+=($!)
	wait_http "127.0.0.1:$port"
	best_rate "printer/$mode" "ipp://127.0.0.1:$port/ipp/print/sealed"
	declare "${mode}_rate=$RATE"
	kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
	rm -rf "$work/standin-$mode"
done

echo "== cupsd raw queue to file:///dev/null"
c="$work/cups"
mkdir -p "$c"/{spool/tmp,cache,state,log}
chmod 755 "$c"; chmod 1777 "$c/spool/tmp"
cport=$(free_port)
cat >"$c/cupsd.conf" <<CONF
Listen 127.0.0.1:$cport
LogLevel warn
MaxJobs 0
MaxLogSize 0
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
CONF
cat >"$c/cups-files.conf" <<CONF
ServerRoot $c
RequestRoot $c/spool
CacheDir $c/cache
StateDir $c/state
TempDir $c/spool/tmp
AccessLog $c/log/access_log
ErrorLog $c/log/error_log
PageLog $c/log/page_log
ServerBin /usr/lib/cups
DataDir /usr/share/cups
SystemGroup root
FileDevice Yes
CONF
/usr/sbin/cupsd -f -c "$c/cupsd.conf" -s "$c/cups-files.conf" &
pids+=($!)
for _ in $(seq 100); do CUPS_SERVER=127.0.0.1:$cport lpstat -r 2>/dev/null | grep -q "is running" && break; sleep 0.1; done
CUPS_SERVER=127.0.0.1:$cport lpadmin -p raw -E -v file:///dev/null
best_rate cupsd "ipp://127.0.0.1:$cport/printers/raw"
cups_rate=$RATE

echo "== result (Print-Job accepted per second, best round)"
python3 - "$serve_rate" "$file_rate" "$group_rate" "$cups_rate" <<'PY'
import sys
serve, per_job, group, cups = map(float, sys.argv[1:])
print(f"  sealprint serve (real spooler)         {serve:8.1f} jobs/s  {serve/cups:5.2f}x cupsd")
print(f"  printer + AES-GCM, fsync per job       {per_job:8.1f} jobs/s  {per_job/cups:5.2f}x cupsd")
print(f"  printer + AES-GCM, group commit        {group:8.1f} jobs/s  {group/cups:5.2f}x cupsd")
print(f"  cupsd raw queue to /dev/null           {cups:8.1f} jobs/s  1.00x")
PY
