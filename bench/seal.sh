#!/usr/bin/env bash
# Seals one file (default 1 GiB of random bytes) with sealprint and with
# gpg, same recipient key, same signer, compression off, in the same run;
# prints wall time, throughput and peak RSS of both and the ratios.
#   scripts/bench seal [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
work=$(mktemp -d /tmp/sealbench.XXXXXX)
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
export SEALPRINT_HOME=$work/home SEALPRINT_KEYRING=file
mkdir -p "$work/gnupg"; chmod 700 "$work/gnupg"
go build -o "$work/sealprint" ./cmd/sealprint
sp=$work/sealprint

echo "input: $size_mib MiB of random bytes"
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/in.bin"

# The sender key and the recipient key are made by sealprint (Ed25519 /
# Cv25519) and imported into gpg, so both tools do the same work.
$sp keys generate --name "Bench Sender" --email sender@bench.example >/dev/null 2>&1
SEALPRINT_HOME=$work/rcpt $sp keys generate --name "Bench Recipient" --email rcpt@bench.example >/dev/null 2>&1
SEALPRINT_HOME=$work/rcpt $sp keys export rcpt@bench.example > "$work/rcpt.asc"
$sp keys import "$work/rcpt.asc" >/dev/null
$sp keys export sender@bench.example --secret > "$work/sender-sec.asc"
gpgcmd=(gpg --homedir "$work/gnupg" --batch --yes --pinentry-mode loopback --passphrase '' --trust-model always)
"${gpgcmd[@]}" --import "$work/sender-sec.asc" "$work/rcpt.asc" 2>/dev/null

# Output goes to /dev/null for both tools, so that the comparison is the
# cryptography and not the disk; each tool runs three times, best kept.
measure() { # label, command... (stdout is discarded)
	local label=$1; shift
	local best_secs="" best_rss=""
	for round in 1 2 3; do
		/usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
		read -r secs rss < "$work/time"
		if [ -z "$best_secs" ] || [ "$(echo "$secs < $best_secs" | bc)" = 1 ]; then best_secs=$secs; fi
		if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
	done
	printf '%-10s best of 3: %7.2f s  %7.1f MiB/s  peak RSS %6.1f MiB\n' "$label" "$best_secs" \
		"$(echo "$size_mib / $best_secs" | bc -l)" "$(echo "$best_rss / 1024" | bc -l)"
	eval "${label}_secs=$best_secs ${label}_rss=$best_rss"
}

measure sealprint "$sp" seal "$work/in.bin" --to rcpt@bench.example -o -
measure gpg "${gpgcmd[@]}" -z 0 --sign --encrypt -u sender@bench.example -r rcpt@bench.example -o - "$work/in.bin"

printf 'throughput ratio sealprint/gpg: %.2fx   (>1 means sealprint is faster)\n' "$(echo "$gpg_secs / $sealprint_secs" | bc -l)"
printf 'peak RSS ratio sealprint/gpg:   %.2fx\n' "$(echo "$sealprint_rss / $gpg_rss" | bc -l)"
