#!/usr/bin/env bash
# Run the peer tools (whylogs, Evidently) through bench/peers.py on generated data and
# print a markdown table of wall time, compute time and peak RSS.
# "max RSS (time -v)" is the whole process, often set by pandas loading the JSON; the
# last two columns come from peers.py sampling its own RSS around the tool's compute step.
#
# Usage: bench/peers.sh DATA_DIR [SIZE...]
#
# DATA_DIR holds pairs named ref_<N>.jsonl / cur_<N>.jsonl (or .csv). Without SIZE
# arguments every N found there is run, smallest first. Tools run one after another,
# never concurrently.
#
# Environment:
#   PEERS_PY     Python with whylogs/evidently installed (default /work/venv-peers/bin/python)
#   PEERS_TOOLS  tools to run, space-separated (default "whylogs evidently")
#   PEERS_OUT    directory for per-run JSON and /usr/bin/time logs (default: a mktemp dir)
set -euo pipefail

PEERS_PY="${PEERS_PY:-/work/venv-peers/bin/python}"
PEERS_TOOLS="${PEERS_TOOLS:-whylogs evidently}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT="$HERE/peers.py"

die() { echo "peers.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DATA_DIR [SIZE...]"
DATA="$1"; shift
[ -d "$DATA" ] || die "no such directory: $DATA"
[ -x "$PEERS_PY" ] || die "PEERS_PY is not executable: $PEERS_PY (create the venv first)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
[ -f "$SCRIPT" ] || die "missing $SCRIPT"

OUT="${PEERS_OUT:-$(mktemp -d /tmp/peers.XXXXXX)}"
mkdir -p "$OUT"

# Find the file for one side and size, whichever extension is present.
pick() {
  local side="$1" n="$2" ext
  for ext in jsonl ndjson csv; do
    if [ -f "$DATA/${side}_${n}.${ext}" ]; then echo "$DATA/${side}_${n}.${ext}"; return 0; fi
  done
  return 1
}

if [ $# -gt 0 ]; then
  SIZES=("$@")
else
  mapfile -t SIZES < <(find "$DATA" -maxdepth 1 -name 'ref_*' -printf '%f\n' \
    | sed -n 's/^ref_\([0-9]\+\)\..*$/\1/p' | sort -n -u)
fi
[ "${#SIZES[@]}" -gt 0 ] || die "no ref_<N>.* files in $DATA"

# Pull a "key": number (or null) out of the one-line JSON that peers.py prints.
jget() { sed -n "s/.*\"$1\": \\([^,}]*\\).*/\\1/p" "$2" | head -n1; }

rows=()
for n in "${SIZES[@]}"; do
  ref="$(pick ref "$n")" || die "missing ref_${n}.* in $DATA"
  cur="$(pick cur "$n")" || die "missing cur_${n}.* in $DATA"
  for tool in $PEERS_TOOLS; do
    json="$OUT/${tool}_${n}.json"; tlog="$OUT/${tool}_${n}.time"; elog="$OUT/${tool}_${n}.stderr"
    echo "peers.sh: $tool, $n rows each side ..." >&2
    # time -v writes its report to the -o file; the tool's own stderr goes to elog.
    if ! /usr/bin/time -v -o "$tlog" "$PEERS_PY" "$SCRIPT" --tool "$tool" --brief \
        --reference "$ref" --current "$cur" >"$json" 2>"$elog"; then
      echo "peers.sh: $tool failed at $n rows; last lines of $elog:" >&2
      tail -n 20 "$elog" >&2 || true
      rows+=("| $tool | $n | FAILED | | | | | | | | |")
      continue
    fi
    wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tlog")"
    rss_kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tlog")"
    rss_mib="$(awk -v k="${rss_kb:-0}" 'BEGIN { printf "%.0f", k / 1024 }')"
    ver="$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$json")"
    load="$(jget load_s "$json")"
    comp="$(jget profile_s "$json")"; [ -n "$comp" ] || comp="$(jget run_s "$json")"
    drift="$(jget drift_s "$json")"; [ "$drift" = "null" ] && drift="(in run)"
    rps="$(jget rows_per_s "$json")"
    rows+=("| $tool $ver | $n | $wall | $load | $comp | ${drift:-} | $(jget compute_s "$json") | $rps | $rss_mib | $(jget rss_after_load_mib "$json") | $(jget rss_peak_compute_mib "$json") |")
  done
done

echo
echo "| tool | rows/side | wall (m:ss) | load s | profile/run s | drift s | compute s | rows/s (both sides) | max RSS MiB (time -v) | RSS after load MiB | peak RSS in compute MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "Raw JSON and /usr/bin/time logs: $OUT" >&2
