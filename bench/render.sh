#!/usr/bin/env bash
# PWG raster → PDF: sealprint render against cups-filters' rastertopdf on the
# same input in the same run. Input: 20 A4 pages at 300 dpi sRGB made by
# ghostscript. Prints wall and CPU time, peak RSS and output size of each
# (best of RUNS runs) and the ratios. Goal: ≥ 2× faster, output ≤ 1.1× the size.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
RASTERTOPDF=/usr/lib/cups/filter/rastertopdf
for tool in gs pdfinfo /usr/bin/time "$RASTERTOPDF"; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "bench/render.sh: $tool is missing (scripts/test installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/sealprint" ./cmd/sealprint

# 20 pages of colour fills, grey steps, lines and text.
{
	echo '%!PS'
	for i in $(seq 1 20); do
		cat <<PS
/Helvetica findfont 28 scalefont setfont
1 0 0 setrgbcolor 50 600 150 150 rectfill
0 0.6 0 setrgbcolor 220 600 150 150 rectfill
0 0 1 setrgbcolor 390 600 150 150 rectfill
0 1 9 { dup 0.1 mul setgray 50 exch 50 mul 100 add 500 40 rectfill } for
0 setgray 60 780 moveto (Sealprint raster benchmark) show
2 setlinewidth 50 50 moveto 545 790 lineto stroke
/Helvetica findfont 40 scalefont setfont 300 300 moveto (Page $i) show
showpage
PS
	done
} >"$work/in.ps"
gs -q -dNOPAUSE -dBATCH -dSAFER -sPAPERSIZE=a4 -r300 -sDEVICE=pwgraster \
	-dcupsColorSpace=19 -dcupsBitsPerColor=8 -sOutputFile="$work/in.pwg" "$work/in.ps" >/dev/null 2>&1
echo "input: $(stat -c %s "$work/in.pwg") bytes of PWG raster, 20 pages A4 300 dpi sRGB 8 (raw pixels $((2480*3508*3*20/1048576)) MiB)"

# measure NAME OUT CMD…: best wall time of $RUNS runs; sets w_NAME u_NAME m_NAME s_NAME.
measure() {
	local name=$1 out=$2; shift 2
	local best="" bestcpu="" bestrss=""
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
		read -r wall user sys rss <"$work/time"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$wall; fi
		if [ -z "$bestcpu" ] || awk -v a="$cpu" -v b="$bestcpu" 'BEGIN { exit !(a < b) }'; then bestcpu=$cpu; fi
		if [ -z "$bestrss" ] || [ "$rss" -lt "$bestrss" ]; then bestrss=$rss; fi
	done
	eval "w_$name=$best u_$name=$bestcpu m_$name=$bestrss s_$name=$(stat -c %s "$out")"
	pages=$(pdfinfo "$out" | awk '/^Pages:/ {print $2}')
	[ "$pages" = 20 ] || { echo "$name: output has $pages pages, want 20" >&2; exit 1; }
}

measure sp "$work/sp.pdf" "$work/sealprint" render "$work/in.pwg" -o - --format image/pwg-raster
measure cf "$work/cf.pdf" env CONTENT_TYPE=image/pwg-raster FINAL_CONTENT_TYPE=application/pdf \
	PPD= DEVICE_URI=file:/dev/null PRINTER=bench "$RASTERTOPDF" 1 user title 1 "" "$work/in.pwg"

printf '%-22s %9s %9s %9s %11s\n' "" "wall s" "cpu s" "rss MiB" "bytes"
printf '%-22s %9s %9s %9d %11d\n' "sealprint render" "$w_sp" "$u_sp" $((m_sp / 1024)) "$s_sp"
printf '%-22s %9s %9s %9d %11d\n' "cups rastertopdf" "$w_cf" "$u_cf" $((m_cf / 1024)) "$s_cf"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "speed-up (wall, rastertopdf / sealprint): $(ratio "$w_cf" "$w_sp")×   (goal ≥ 2)"
echo "speed-up (cpu,  rastertopdf / sealprint): $(ratio "$u_cf" "$u_sp")×"
echo "size ratio (sealprint / rastertopdf):     $(ratio "$s_sp" "$s_cf")×   (goal ≤ 1.1)"
echo "(machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
