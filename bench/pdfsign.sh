#!/usr/bin/env bash
# PAdES signing of a 10-page report: the cost sealprint adds to a job, and
# the same signature with digitorus/pdfsign's command (the Go library this
# package chose not to use) in the same run. Input: 10 A4 pages of text
# rendered by sealprint render (PDF/A-2b). Key: RSA 2048 in a PKCS#12 file;
# with softhsm2 installed, also the same key class on a SoftHSM2 token
# (PKCS#11). B-T adds an RFC 3161 timestamp from `openssl ts -reply` behind
# a local HTTP server. Prints the best wall and CPU time of RUNS runs of each
# command (whole processes, start-up included) and the output sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DIGITORUS=${DIGITORUS:-v0.0.0-20250819064552-5f74f69dda1d}
for tool in openssl python3 pdfsig /usr/bin/time; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "bench/pdfsign.sh: $tool is missing (scripts/test installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
tsa_pid=""
cleanup() { [ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/sealprint" ./cmd/sealprint
# digitorus/pdfsign's command, at the version go-partial.tsv lists.
(cd "$work" && mkdir dg && cd dg && go mod init dgbench >/dev/null 2>&1 &&
	go get "github.com/digitorus/pdfsign@$DIGITORUS" >/dev/null 2>&1 &&
	go build -o "$work/digitorus-pdfsign" github.com/digitorus/pdfsign) ||
	{ echo "bench/pdfsign.sh: cannot build github.com/digitorus/pdfsign@$DIGITORUS" >&2; exit 1; }

# A test CA, a signer (RSA 2048) and a TSA certificate.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=Bench-CA -days 2 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout doc.key -out doc.csr -subj '/CN=Dr Bench/O=CHU' 2>/dev/null
openssl x509 -req -in doc.csr -CA ca.pem -CAkey ca.key -set_serial 2 -out doc.pem -days 1 2>/dev/null
openssl pkcs12 -export -in doc.pem -inkey doc.key -passout pass:bench -out doc.p12
openssl pkey -in doc.key -traditional -out doc.rsa.key # digitorus wants PKCS#1
openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj /CN=Bench-TSA 2>/dev/null
printf 'extendedKeyUsage=critical,timeStamping\n' >tsa.ext
openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -set_serial 3 -out tsa.pem -days 1 -extfile tsa.ext 2>/dev/null
cat >tsa.cnf <<CNF
[ tsa ]
default_tsa = t
[ t ]
dir = $work
serial = $work/tsa.serial
crypto_device = builtin
signer_cert = $work/tsa.pem
certs = $work/ca.pem
signer_key = $work/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
echo 01 >tsa.serial
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >tsa.py <<'PY'
import http.server, subprocess, sys, os
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        q = self.rfile.read(int(self.headers["Content-Length"]))
        r = subprocess.run(["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "/dev/stdin", "-out", "/dev/stdout"],
                           input=q, capture_output=True)
        self.send_response(200 if r.returncode == 0 else 500)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(r.stdout)))
        self.end_headers()
        self.wfile.write(r.stdout)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 tsa.py "$port" &
tsa_pid=$!
tsa=http://127.0.0.1:$port/
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break; sleep 0.1; done

# 10 pages of 60 lines.
for i in $(seq 600); do echo "Ligne $i du rapport médico-légal : état compatible ✓ œ € « »"; done >report.txt
export SEALPRINT_KEYRING=file
sp() { SEALPRINT_HOME="$work/$1" "$work/sealprint" "${@:2}"; }
sp b render report.txt -o report.pdf >/dev/null
echo "input: $(stat -c %s report.pdf) bytes, $(pdfinfo report.pdf | awk '/^Pages:/ {print $2}') pages (sealprint render, PDF/A-2b)"
SEALPRINT_P12_PASSPHRASE=bench sp bb pdfsign setup --p12 doc.p12 >/dev/null 2>&1
SEALPRINT_P12_PASSPHRASE=bench sp bt pdfsign setup --p12 doc.p12 --tsa "$tsa" >/dev/null 2>&1
have_hsm=""
if command -v softhsm2-util >/dev/null && [ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v pkcs11-tool >/dev/null; then
	mkdir tokens; echo "directories.tokendir = $work/tokens" >softhsm2.conf
	export SOFTHSM2_CONF=$work/softhsm2.conf
	softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
	softhsm2-util --import doc.key --token bench --label sig --id 01 --pin 1234 >/dev/null
	openssl x509 -in doc.pem -outform DER -out doc.der
	pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label bench --login --pin 1234 \
		--write-object doc.der --type cert --id 01 --label sig >/dev/null 2>&1
	SEALPRINT_PKCS11_PIN=1234 sp hsm pdfsign setup --pkcs11 /usr/lib/softhsm/libsofthsm2.so --token-label bench --key-label sig >/dev/null
	have_hsm=1
fi

# measure NAME OUT CMD…: best wall time (ns clock) and CPU time
# (/usr/bin/time, 10 ms steps) of $RUNS runs.
measure() {
	local name=$1 out=$2; shift 2
	local best="" bestcpu=""
	for _ in $(seq "$RUNS"); do
		rm -f "$out"
		t0=$(date +%s%N)
		/usr/bin/time -f "%U %S" -o time.txt "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
		t1=$(date +%s%N)
		wall=$(( (t1 - t0) / 1000 ))
		read -r user sys <time.txt
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print (u + s) * 1000000 }')
		if [ -z "$best" ] || [ "$wall" -lt "$best" ]; then best=$wall; fi
		if [ -z "$bestcpu" ] || awk -v a="$cpu" -v b="$bestcpu" 'BEGIN { exit !(a < b) }'; then bestcpu=$cpu; fi
	done
	if [ "$out" != - ]; then
		pdfsig "$out" | grep -q "Signature is Valid" || { echo "$name: pdfsig does not find a valid signature" >&2; pdfsig "$out" >&2; exit 1; }
		size=$(stat -c %s "$out")
	else
		size=0
	fi
	printf '%-40s %8.1f %8.0f %9d\n' "$name" "$(awk -v w="$best" 'BEGIN { print w / 1000 }')" "$(awk -v c="$bestcpu" 'BEGIN { print c / 1000 }')" "$size"
}

printf '%-40s %8s %8s %9s\n' "" "wall ms" "cpu ms" "bytes"
measure "sealprint render (10 pages, reference)" - env SEALPRINT_HOME="$work/b" "$work/sealprint" render report.txt -o render.pdf
measure "sealprint pdfverify --help (start-up)" - env SEALPRINT_HOME="$work/b" "$work/sealprint" pdfverify --help
measure "sealprint pdfsign, p12, B-B" bb.pdf env SEALPRINT_HOME="$work/bb" "$work/sealprint" pdfsign report.pdf -o bb.pdf
measure "sealprint pdfsign, p12, B-T (local TSA)" bt.pdf env SEALPRINT_HOME="$work/bt" "$work/sealprint" pdfsign report.pdf -o bt.pdf
[ -n "$have_hsm" ] && measure "sealprint pdfsign, SoftHSM2, B-B" hsm.pdf env SEALPRINT_HOME="$work/hsm" SEALPRINT_PKCS11_PIN=1234 "$work/sealprint" pdfsign report.pdf -o hsm.pdf
measure "digitorus pdfsign sign, B-B (adbe)" dg.pdf "$work/digitorus-pdfsign" sign -tsa "" -name "Dr Bench" report.pdf dg.pdf doc.pem doc.rsa.key
measure "digitorus pdfsign sign, T (local TSA)" dgt.pdf "$work/digitorus-pdfsign" sign -tsa "$tsa" -name "Dr Bench" report.pdf dgt.pdf doc.pem doc.rsa.key
measure "sealprint pdfverify (B-T file)" - env SEALPRINT_HOME="$work/bt" "$work/sealprint" pdfverify bt.pdf --ca ca.pem
echo "(the added cost per job is the pdfsign line minus the process start line; machine load: $(cut -d' ' -f1-3 /proc/loadavg))"

# In process, without start-up: one signature and one check of the same
# 10-page report (go test benchmarks of the pdfsign package).
cd - >/dev/null
PDFSIGN_BENCH_PDF="$work/report.pdf" go test -run '^$' -bench 'BenchmarkSign$|BenchmarkVerify$' -benchtime 50x ./pdfsign |
	awk '/^Benchmark/ { printf "%-40s %8.2f ms/op\n", "in process: " $1, $3 / 1e6 }'
