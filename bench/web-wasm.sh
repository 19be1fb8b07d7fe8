#!/usr/bin/env bash
# The recipient page's three per-byte passes (AES-256-CFB, SHA-1, SHA-256)
# as it runs them, in JavaScript (web/recipient/static/aes.js, sha1.js,
# sha256.js), against the same calls with its WebAssembly kernels
# installed (kernels.js, kernels.wasm: scripts/wasm builds it), in node,
# Chromium and Firefox ESR, and AES-256-CFB in node's OpenSSL for scale
# (docs/recipient.md). Needs the browsers and the browser tests' node
# modules that scripts/test installs.
#   bench/web-wasm.sh [MiB per pass, default 256]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp web/recipient/static/aes.js web/recipient/static/sha1.js web/recipient/static/sha256.js \
	web/recipient/static/kernels.js web/recipient/static/kernels.wasm \
	bench/web-wasm/harness.js bench/web-wasm/index.html "$out/"
[ -d web/recipient/browsertest/node_modules ] ||
	(cd web/recipient/browsertest && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
uptime
node bench/web-wasm/run.mjs "$out" "${1:-256}"
