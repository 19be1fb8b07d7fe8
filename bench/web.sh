#!/usr/bin/env bash
# Opening a sealed document in the recipient's page (headless Chromium:
# download, OpenPGP.js decrypt + signature check, SHA-256) against gpg
# decrypting the same ciphertext, plus the page's weight.
#   bench/web.sh [SIZE_MB]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
SEALPRINT_BENCH_WEB=1 SEALPRINT_BENCH_MB=${1:-20} go test -count=1 -run 'TestBenchDecrypt|TestPageWeight' -v ./web/recipient/ \
	| grep -E "^(document|chromium|gpg|ratio)|page weight" | sed 's/^ *web_test.go:[0-9]*: //'
