#!/usr/bin/env bash
# Key directory benchmark, against the real alternatives in the same run:
#  1. loading N keys: `sealrelay keys import --verified` (parse, verify every
#     self-signature, strip, index, fsync) vs `gpg --import` into a fresh
#     keyring;
#  2. serving one key by address: the relay's VKS by-email and WKD endpoints
#     vs a static file server (python3 -m http.server) serving the same key,
#     with ApacheBench (ab).
# Usage: scripts/bench keyserver [N_KEYS] [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100}
REQ=${2:-5000}
for t in gpg ab /usr/bin/time; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
work=$(mktemp -d /tmp/ksbench.XXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	GNUPGHOME=$work/gen gpgconf --kill all 2>/dev/null || true
	GNUPGHOME=$work/imp gpgconf --kill all 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/sealrelay" ./cmd/sealrelay

echo "== generating $N keys (ed25519 + cv25519) with gpg"
mkdir -m 700 "$work/gen" "$work/imp"
for i in $(seq 1 "$N"); do
	GNUPGHOME=$work/gen gpg -q --batch --passphrase '' --quick-gen-key "User $i <user$i@police.example>" future-default default never 2>/dev/null
done
GNUPGHOME=$work/gen gpg -q --export > "$work/keys.gpg"
echo "keyring: $(stat -c %s "$work/keys.gpg") bytes"

measure() { # label, command… → prints seconds and max RSS
	local label=$1; shift
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
	read -r secs rss < "$work/time"
	printf "%-34s %6.2f s  %7d KiB max RSS\n" "$label" "$secs" "$rss"
	echo "$secs"> "$work/last"
}

echo "== 1. loading $N keys"
measure "sealrelay keys import --verified" "$work/sealrelay" keys import --verified "$work/keys.gpg" --data "$work/relay"
ours=$(cat "$work/last")
measure "gpg --import" env GNUPGHOME="$work/imp" gpg --batch --import "$work/keys.gpg"
theirs=$(cat "$work/last")
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (a > 0) printf "ratio gpg/sealrelay: %.2f (above 1: sealrelay faster)\n", b / a }'

echo "== 2. serving one key by address ($REQ requests, 8 concurrent)"
port=$((20000 + RANDOM % 20000))
"$work/sealrelay" serve --data "$work/relay" --listen "127.0.0.1:$port" >"$work/relay.log" 2>&1 &
pids+=($!)
mkdir -p "$work/static"
GNUPGHOME=$work/gen gpg -q --export user1@police.example > "$work/static/user1.gpg"
sport=$((port + 1))
(cd "$work/static" && exec python3 -m http.server "$sport" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
for i in $(seq 1 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$sport/user1.gpg" >/dev/null 2>&1 && break
	sleep 0.1
done
hash=$(GNUPGHOME=$work/gen /usr/lib/gnupg/gpg-wks-client --print-wkd-hash user1@police.example | cut -d' ' -f1)
rps() { ab -q -n "$REQ" -c 8 "$1" 2>/dev/null | awk '/Requests per second/ { print $4 }'; }
vks=$(rps "http://127.0.0.1:$port/vks/v1/by-email/user1@police.example")
wkd=$(rps "http://127.0.0.1:$port/.well-known/openpgpkey/police.example/hu/$hash?l=user1")
static=$(rps "http://127.0.0.1:$sport/user1.gpg")
printf "%-34s %9s req/s\n" "relay VKS by-email" "$vks" "relay WKD (advanced)" "$wkd" "python3 http.server (static file)" "$static"
awk -v a="$vks" -v b="$static" 'BEGIN { if (b > 0) printf "ratio VKS/static: %.2f\n", a / b }'
