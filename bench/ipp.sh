#!/usr/bin/env bash
# Print-Job accept rate: 1 MiB PDF, 8 concurrent clients, 200 jobs, against
#   serve    sealprint serve (real spooler: every acknowledged job is
#            encrypted with the spool key and fsynced; concurrent jobs share
#            one fsync of the intake log),
#   file     the printer package with a stand-in spooler that encrypts with
#            AES-256-GCM into one file per job and fsyncs file and directory,
#   discard  the printer package with a stand-in spooler that reads and
#            drops each document (what IPP alone costs),
#   cupsd    CUPS' own cupsd (private instance, raw queue to file:///dev/null;
#            cupsd does not fsync),
# and prints the ratios to cupsd.
#
# Method: every round starts a fresh instance of each target with an empty
# spool (a burst of prints reaching an idle service), runs the load once,
# and stops it; the targets take turns within a round, and the disk is
# synced before each load, so drift of this machine and one target's
# leftover writeback do not land on another. The best round of each counts.
# Environment: JOBS (200), CLIENTS (8), SIZE (1048576), ROUNDS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-200}
CLIENTS=${CLIENTS:-8}
SIZE=${SIZE:-1048576}
ROUNDS=${ROUNDS:-5}
TARGETS=(serve file discard cupsd)

for tool in /usr/sbin/cupsd lpadmin lpstat; do
	command -v "$tool" >/dev/null || { echo "bench/ipp.sh: $tool missing (apt-get install cups cups-client)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/sealprint-bench-ipp.XXXXXX)
chmod 755 "$work"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
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
echo "document: $(stat -c %s "$work/doc.pdf") bytes PDF; $JOBS jobs, $CLIENTS clients, best of $ROUNDS rounds, a fresh instance each"
export SEALPRINT_KEYRING=file
SEALPRINT_HOME="$work/keys" "$work/sealprint" keys generate --name "Bench Sender" --email bench@hospital.example >/dev/null 2>&1

# start TARGET DIR: starts a fresh instance in DIR; sets pid and URI.
start() {
	local t=$1 d=$2 port
	mkdir -p "$d"
	case $t in
	serve)
		cp -a "$work/keys" "$d/home"
		port=$(free_port)
		SEALPRINT_HOME="$d/home" "$work/sealprint" serve --listen "127.0.0.1:$port" >"$d/serve.log" 2>&1 &
		pid=$!
		wait_http "127.0.0.1:$port"
		URI="ipp://127.0.0.1:$port/ipp/print/sealed" ;;
	file | discard)
		port=$(free_port)
		"$work/ippload" -serve "127.0.0.1:$port" -spool "$d/spool" -spooler "$t" >"$d/standin.log" 2>&1 &
		pid=$!
		wait_http "127.0.0.1:$port"
		URI="ipp://127.0.0.1:$port/ipp/print/sealed" ;;
	cupsd)
		mkdir -p "$d"/{spool/tmp,cache,state,log}
		chmod 755 "$d"; chmod 1777 "$d/spool/tmp"
		port=$(free_port)
		cat >"$d/cupsd.conf" <<-CONF
			Listen 127.0.0.1:$port
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
		cat >"$d/cups-files.conf" <<-CONF
			ServerRoot $d
			RequestRoot $d/spool
			CacheDir $d/cache
			StateDir $d/state
			TempDir $d/spool/tmp
			AccessLog $d/log/access_log
			ErrorLog $d/log/error_log
			PageLog $d/log/page_log
			ServerBin /usr/lib/cups
			DataDir /usr/share/cups
			SystemGroup root
			FileDevice Yes
		CONF
		/usr/sbin/cupsd -f -c "$d/cupsd.conf" -s "$d/cups-files.conf" &
		pid=$!
		for _ in $(seq 100); do CUPS_SERVER=127.0.0.1:$port lpstat -r 2>/dev/null | grep -q "is running" && break; sleep 0.1; done
		CUPS_SERVER=127.0.0.1:$port lpadmin -p raw -E -v file:///dev/null
		URI="ipp://127.0.0.1:$port/printers/raw" ;;
	esac
}

declare -A best
for t in "${TARGETS[@]}"; do best[$t]=0; done
for round in $(seq "$ROUNDS"); do
	echo "== round $round"
	for t in "${TARGETS[@]}"; do
		d="$work/$t-$round"
		start "$t" "$d"
		sync
		line=$("$work/ippload" -uri "$URI" -file "$work/doc.pdf" -n "$JOBS" -c "$CLIENTS")
		printf '  %-8s %s\n' "$t" "$line"
		r=$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$line")
		best[$t]=$(python3 -c "print(max(${best[$t]}, $r))")
		kill "$pid"; wait "$pid" 2>/dev/null || true
		pid=
		rm -rf "$d"
	done
done

echo "== result (Print-Job accepted per second, best round)"
python3 - "${best[serve]}" "${best[file]}" "${best[discard]}" "${best[cupsd]}" <<'PY'
import sys
serve, per_job, discard, cups = map(float, sys.argv[1:])
print(f"  sealprint serve (real spooler)         {serve:8.1f} jobs/s  {serve/cups:5.2f}x cupsd")
print(f"  printer + AES-GCM, fsync per job       {per_job:8.1f} jobs/s  {per_job/cups:5.2f}x cupsd")
print(f"  printer, documents discarded           {discard:8.1f} jobs/s  {discard/cups:5.2f}x cupsd")
print(f"  cupsd raw queue to /dev/null           {cups:8.1f} jobs/s  1.00x")
PY
