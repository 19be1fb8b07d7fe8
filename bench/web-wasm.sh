#!/usr/bin/env bash
# The recipient page's three per-byte passes (AES-256-CFB, SHA-1, SHA-256)
# as it runs them, in JavaScript (web/recipient/static/aes.js, sha1.js,
# sha256.js), against the same loops compiled to WebAssembly
# (bench/web-wasm/kernels.c, clang), in node, Chromium and Firefox ESR,
# and AES-256-CFB in node's OpenSSL: what a WebAssembly path would give
# the page (docs/recipient.md). Needs the browsers and the browser tests'
# node modules that scripts/test installs; installs clang and lld.
#   bench/web-wasm.sh [MiB per pass, default 256]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
	apt-get install -y -qq --no-install-recommends clang lld >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang --target=wasm32 -O3 -nostdlib -fno-builtin -Wall -Werror \
	-Wl,--no-entry -Wl,--export-all -Wl,--strip-all -Wl,-z,stack-size=8192 \
	-Wl,--initial-memory=1179648 -Wl,--max-memory=1179648 \
	-o "$out/kernels.wasm" bench/web-wasm/kernels.c
cp web/recipient/static/aes.js web/recipient/static/sha1.js web/recipient/static/sha256.js \
	bench/web-wasm/harness.js bench/web-wasm/index.html "$out/"
# sha256.js's round constants, for the harness to write into the module.
{ sed -n '/^const K = /,/^]);/p' web/recipient/static/sha256.js | sed 's/^const K/export const K/'; } >"$out/k256.js"
grep -q 'export const K' "$out/k256.js" || { echo "bench/web-wasm: no constants found in sha256.js" >&2; exit 1; }
[ -d web/recipient/browsertest/node_modules ] ||
	(cd web/recipient/browsertest && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
uptime
node bench/web-wasm/run.mjs "$out" "${1:-256}"
