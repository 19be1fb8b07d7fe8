#!/usr/bin/env bash
# Load test of the relay (issue 17), bounded, loopback only:
#  - 1,000 concurrent downloads and 200 concurrent uploads of 10 MiB
#    against one embedded relay (SQLite + files), and against relay
#    replicas on PostgreSQL 15 + versitygw: one, one behind haproxy, two
#    behind haproxy (and the same pinned to one core each with taskset);
#  - in the same run: nginx serving the same blobs as static files, tusd's
#    own server (v2.9.1) storing the same uploads (filestore on the same
#    disk; s3store on the same versitygw), and the disk's raw write speed
#    (dd conv=fdatasync);
#  - peak RSS (VmHWM) of each server, and at 100 concurrent downloads.
# Every server is started fresh for each round, best of 2 rounds kept,
# `sync` before each round. Prints a table and the ratios to the goals.
#   scripts/bench relay [FLAGS of bench/relay, e.g. -rounds 3 -pin=false -groups embedded
#                        -only 'download' -profile DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
gobin=$(go env GOPATH)/bin
want_go_tool() { # NAME MODULE VERSION PACKAGE
	if ! go version -m "$gobin/$1" 2>/dev/null | grep -qE "mod[[:space:]]+$2[[:space:]]+$3"; then
		echo "bench relay: installing $1 $3" >&2
		(cd / && GOFLAGS=-mod=mod go install "$4@$3")
	fi
}
want_go_tool tusd github.com/tus/tusd/v2 v2.9.1 github.com/tus/tusd/v2/cmd/tusd
want_go_tool versitygw github.com/versity/versitygw v1.8.0 github.com/versity/versitygw/cmd/versitygw
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench relay: installing ${missing[*]}" >&2
	apt-get install -y -o DPkg::Lock::Timeout=900 "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/relaybench.XXXXXX)
cleanup() {
	# The cluster pg_ctl daemonized, if the load test could not stop it.
	if [ -f "$work/pg/data/postmaster.pid" ]; then
		runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
tags=
case " $* " in *" -profile "*) tags=relayprofile ;; esac # profiles: see bench/relay -help
go build -tags "$tags" -o "$work/sealrelay" ./cmd/sealrelay
go build -o "$work/relaybench" ./bench/relay
start=$(date +%s)
"$work/relaybench" -sealrelay "$work/sealrelay" -tusd "$gobin/tusd" -versitygw "$gobin/versitygw" -work "$work" "$@"
echo "bench relay: wall time $(( $(date +%s) - start )) s (with setup); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
