#!/usr/bin/env bash
# Sends one file (default 512 MiB of random bytes) through a real
# `sealrelay serve` on loopback with curl — tus upload, complete (size and
# SHA-256 check, fsync, rename), download — and compares each step with
# what the machine does without the relay in the same run: cp + sync of the
# same file (the disk's durable write) and openssl dgst -sha256 (the hash the relay
# recomputes; openssl, which uses the CPU's SHA instructions). Prints times, throughput, the relay's peak RSS and ratios.
#   scripts/bench relay-file [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-512}
work=$(mktemp -d /tmp/relaybench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/sealrelay" ./cmd/sealrelay
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

echo "input: $size_mib MiB of random bytes"
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/in.bin"
size=$(stat -c %s "$work/in.bin")

token=$("$work/sealrelay" token create --data "$work/data" --name bench)
"$work/sealrelay" serve --data "$work/data" --listen "127.0.0.1:$port" --max-size $((size * 2)) >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
rate() { echo "$size_mib / $1" | bc -l; }
report() { printf '%-28s %7.2f s  %8.1f MiB/s\n' "$1" "$2" "$(rate "$2")"; }

# Baselines: durable copy, and hashing.
sync; t0=$(now); cp "$work/in.bin" "$work/copy.bin"; sync "$work/copy.bin"; t1=$(now)
cp_secs=$(echo "$t1 - $t0" | bc -l); rm "$work/copy.bin"
t0=$(now); sum=$(openssl dgst -sha256 -r "$work/in.bin" | cut -d' ' -f1); t1=$(now)
hash_secs=$(echo "$t1 - $t0" | bc -l)

auth="Authorization: Bearer $token"
id=$(curl -sf -H "$auth" -H 'Content-Type: application/json' \
	-d "{\"size\":$size,\"sha256\":\"$sum\",\"mode\":\"key\"}" "$base/api/v1/drops" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
meta=$(printf %s "$id" | base64)
curl -sf -o /dev/null -X POST -H "$auth" -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
	-H "Upload-Metadata: drop $meta" "$base/api/v1/uploads/"
sync; t0=$(now)
curl -sf -o /dev/null -X PATCH -T "$work/in.bin" -H "$auth" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
	-H 'Content-Type: application/offset+octet-stream' "$base/api/v1/uploads/$id"
t1=$(now)
curl -sf -o /dev/null -X POST -H "$auth" "$base/api/v1/drops/$id/complete"
t2=$(now)
curl -sf -o "$work/out.bin" "$base/api/v1/drops/$id/blob"
t3=$(now)
cmp "$work/in.bin" "$work/out.bin"
up_secs=$(echo "$t1 - $t0" | bc -l)
complete_secs=$(echo "$t2 - $t1" | bc -l)
down_secs=$(echo "$t3 - $t2" | bc -l)
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

report "cp + sync (baseline)" "$cp_secs"
report "openssl sha256 (baseline)" "$hash_secs"
report "relay upload (tus PATCH)" "$up_secs"
report "relay complete (hash+fsync)" "$complete_secs"
report "relay upload + complete" "$(echo "$up_secs + $complete_secs" | bc -l)"
report "relay download" "$down_secs"
printf 'relay peak RSS: %.1f MiB\n' "$(echo "$rss_kib / 1024" | bc -l)"
printf 'ratios: upload+complete / (cp+sync + openssl sha256) = %.2f; complete / openssl sha256 = %.2f\n' \
	"$(echo "($up_secs + $complete_secs) / ($cp_secs + $hash_secs)" | bc -l)" \
	"$(echo "$complete_secs / $hash_secs" | bc -l)"
