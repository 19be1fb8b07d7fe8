#!/usr/bin/env bash
# Uploads the same file (default 1 GiB) to a real sealrelay over HTTPS
# through the same real squid, with the sealprint uploader (tus, chunked,
# resumable) and with curl -T (one tus PATCH of the whole file), and prints
# the times and their ratio. Usage: bench/upload.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
for tool in squid curl openssl sha256sum; do
	command -v "$tool" >/dev/null || { echo "bench/upload.sh: $tool is required" >&2; exit 1; }
done

work=$(mktemp -d /tmp/sealprint-bench-upload.XXXXXX)
chmod 0777 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "building…"
go build -o "$work/sealrelay" ./cmd/sealrelay
go build -o "$work/uploadbench" ./uploader/internal/uploadbench

# Relay certificate for 127.0.0.1, signed by a throwaway CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
	-keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$work/relay.key" -out "$work/relay.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/relay.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
	-extfile "$work/ext" -out "$work/relay.pem" 2>/dev/null

relay_port=$(free_port)
relay="https://127.0.0.1:$relay_port"
"$work/sealrelay" serve --data "$work/data" --listen "127.0.0.1:$relay_port" --tls-cert "$work/relay.pem" \
	--tls-key "$work/relay.key" --max-size $(( (size_mib + 1) * 1048576 )) >"$work/relay.log" 2>&1 &
pids+=($!)

squid_port=$(free_port)
cat >"$work/squid.conf" <<CONF
http_port 127.0.0.1:$squid_port
http_access allow all
cache deny all
shutdown_lifetime 0
pinger_enable off
pid_filename $work/squid.pid
cache_log $work/cache.log
access_log $work/access.log
coredump_dir $work
netdb_filename none
CONF
squid -N -f "$work/squid.conf" &
pids+=($!)
proxy="http://127.0.0.1:$squid_port"

for i in $(seq 100); do
	curl -s --cacert "$work/ca.pem" "$relay/healthz" >/dev/null 2>&1 && \
		curl -s -o /dev/null -x "$proxy" --cacert "$work/ca.pem" "$relay/healthz" 2>/dev/null && break
	sleep 0.1
done
token=$("$work/sealrelay" token create --data "$work/data" --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "writing ${size_mib} MiB of random data…"
head -c $((size_mib * 1048576)) /dev/urandom >"$work/file.bin"
size=$(stat -c %s "$work/file.bin")
sum=$(sha256sum "$work/file.bin" | cut -d' ' -f1)

# curl: create the drop and the tus upload, then PATCH the whole file.
curl_upload() {
	local id
	id=$(curl -sS -x "$proxy" --cacert "$work/ca.pem" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' \
		-d "{\"size\":$size,\"sha256\":\"$sum\",\"mode\":\"key\"}" "$relay/api/v1/drops" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	curl -sS -f -o /dev/null -x "$proxy" --cacert "$work/ca.pem" -H "Authorization: Bearer $token" \
		-H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
		-H "Upload-Metadata: drop $(printf %s "$id" | base64 -w0)" -X POST "$relay/api/v1/uploads/"
	curl -sS -f -o /dev/null -x "$proxy" --cacert "$work/ca.pem" -H "Authorization: Bearer $token" \
		-H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' \
		-X PATCH -T "$work/file.bin" "$relay/api/v1/uploads/$id"
	curl -sS -f -o /dev/null -x "$proxy" --cacert "$work/ca.pem" -H "Authorization: Bearer $token" \
		-X POST -H 'Content-Type: application/json' -d '{}' "$relay/api/v1/drops/$id/complete"
}

now() { date +%s.%N; }
echo "uploading through squid (HTTPS CONNECT tunnel)…"
t0=$(now); curl_upload; t1=$(now)
curl_s=$(python3 -c "print($t1 - $t0)")
sp_s=$("$work/uploadbench" --relay "$relay" --token "$token" --proxy "$proxy" --ca "$work/ca.pem" --sha256 "$sum" "$work/file.bin" | cut -d' ' -f1)
# Second round in the other order, so that caches favour neither.
sp2_s=$("$work/uploadbench" --relay "$relay" --token "$token" --proxy "$proxy" --ca "$work/ca.pem" --sha256 "$sum" "$work/file.bin" | cut -d' ' -f1)
t0=$(now); curl_upload; t1=$(now)
curl2_s=$(python3 -c "print($t1 - $t0)")

python3 - "$size_mib" "$curl_s" "$curl2_s" "$sp_s" "$sp2_s" <<'PY'
import sys
mib, c1, c2, s1, s2 = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"\nupload of {mib} MiB to sealrelay (TLS) through squid, create + upload + complete, 2 rounds:")
print(f"  {'curl -T (one PATCH)':34} {c1:7.2f} s {c2:7.2f} s  best {mib/min(c1,c2):6.0f} MiB/s")
print(f"  {'sealprint uploader (tus chunks)':34} {s1:7.2f} s {s2:7.2f} s  best {mib/min(s1,s2):6.0f} MiB/s")
print(f"  ratio sealprint / curl (best of 2): {min(s1,s2)/min(c1,c2):.2f}")
PY
