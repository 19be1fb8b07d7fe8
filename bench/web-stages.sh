#!/usr/bin/env bash
# Each stage of opening a large document in the recipient's page, timed
# alone in Chromium and Firefox ESR against the real relay (TestStages):
# the ranged download (read, discarded), AES-256-CFB (static/aes.js) in a
# worker and on the page's thread, and each sink (private storage,
# service-worker download) fed zeros until the file is complete on disk;
# then aes.js in node for comparison.
#   bench/web-stages.sh [SIZES_MiB, default "50 200"]
# SEALPRINT_STAGE_FETCH="shipped whole 8-1 16-2" times download variants
# (RANGE_MiB-PREFETCH: api.js with those constants), SEALPRINT_STAGE_SINK=
# "storage storage:4096:1 download" sink variants (:BATCH_KiB:DEPTH), and
# SEALPRINT_STAGE_BROWSERS="chromium" one browser only.
set -euo pipefail
cd "$(dirname "$0")/.."
SEALPRINT_INTEGRATION=1 SEALPRINT_BENCH_STAGES=1 SEALPRINT_STAGE_MB=${1:-50 200} \
	go test -count=1 -timeout 60m -run 'TestStages$' -v ./web/recipient/ \
	| grep -E "MiB: |--- (FAIL|PASS)|stages_test" || true
for mb in ${1:-50 200}; do
	node --input-type=module -e '
import { CFBDecrypter } from "./web/recipient/static/aes.js";
const mb = Number(process.argv[1]);
const dec = new CFBDecrypter(new Uint8Array(32).fill(7));
const buf = new Uint8Array(1 << 20);
for (let i = 0; i < buf.length; i++) buf[i] = i * 31;
const t0 = performance.now();
for (let i = 0; i < mb; i++) dec.decrypt(buf, buf);
const ms = performance.now() - t0;
console.log(`node ${process.version} ${mb} MiB: AES-256-CFB aes.js ${ms.toFixed(0)} ms (${(mb / ms * 1000).toFixed(1)} MiB/s)`);
' "$mb"
done
uptime
