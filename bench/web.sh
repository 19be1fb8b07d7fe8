#!/usr/bin/env bash
# Opening sealed documents in the recipient's page against gpg decrypting
# the same ciphertext in the same run:
#  - in memory (headless Chromium, small document): download, OpenPGP.js
#    decrypt + signature check, SHA-256, and the page's weight;
#  - streamed to disk (Firefox ESR and Chromium, real relay, 50 MiB and
#    600 MiB link-mode drops): click → file complete with the signature
#    checked, with the browser's peak RSS above idle (TestStreamBig*, which
#    enforce the 1.5× bound and check a tampered blob ends "altered").
# The streamed runs use the page's WebAssembly kernels; with
# SEALPRINT_BENCH_ENGINE=js the workers stay in JavaScript, to compare.
#   bench/web.sh [SIZE_MB for the in-memory run, default 20] [STREAM sizes, default "50 600"]
set -euo pipefail
cd "$(dirname "$0")/.."
SEALPRINT_BENCH_WEB=1 SEALPRINT_BENCH_MB=${1:-20} go test -count=1 -run 'TestBenchDecrypt|TestPageWeight' -v ./web/recipient/ \
	| grep -E "^(document|chromium|gpg|ratio)|page weight|--- FAIL" | sed 's/^ *web_test.go:[0-9]*: //' || true
for mb in ${2:-50 600}; do
	echo "== streamed, $mb MiB"
	SEALPRINT_INTEGRATION=1 SEALPRINT_BENCH_WEB=1 SEALPRINT_BIG=1 SEALPRINT_STREAM_MB=$mb \
		go test -count=1 -timeout 60m -run 'TestStreamBig(Firefox|Chromium)$' -v ./web/recipient/ \
		| grep -E "drop opened to disk|page steps|of CPU in|peak RSS|--- (FAIL|PASS)" || true
done
