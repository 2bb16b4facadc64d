#!/usr/bin/env bash
# Engine benchmark: generate prediction logs with `auditor gen-evidence`, then time
# `auditor profile` (and `auditor audit` of ML and of LLM logs) under /usr/bin/time -v,
# reporting wall time, rows/s and peak RSS as a markdown table. Not a test: run it by hand on
# a quiet machine.
#
# Usage: bench/engine.sh [SIZE...]          (default: 1000000 10000000)
#
# Environment:
#   BENCH_DIR     where data and logs go (default: bench/out; about 3 GB for 10M rows)
#   BENCH_RUNS    timed runs per case; the median is reported (default 3)
#   BENCH_FORMATS formats to time (default "jsonl csv")
#   AUDITOR       the binary (default: target/release/auditor, built if missing)
#   BENCH_LLM     1 (default) to time the LLM-text case: two SIZE[0]-row LLM request logs
#                 (about 550 bytes a row, multilingual prompts and responses) audited with and
#                 without the README's [text] mapping; 0 to skip it
#
# The data is deterministic (fixed seeds), so bench/peers.sh can run whylogs and Evidently
# on exactly the same files: bench/peers.sh "$BENCH_DIR/data" 1000000
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$ROOT/bench/out}"
BENCH_RUNS="${BENCH_RUNS:-3}"
BENCH_FORMATS="${BENCH_FORMATS:-jsonl csv}"
AUDITOR="${AUDITOR:-$ROOT/target/release/auditor}"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 10000000)

die() { echo "engine.sh: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
if [ ! -x "$AUDITOR" ]; then
  (cd "$ROOT" && cargo build --release -p auditor) || die "build failed"
fi
DATA="$BENCH_DIR/data"; LOGS="$BENCH_DIR/logs"
mkdir -p "$DATA" "$LOGS"

gen() { # gen FILE ROWS SEED [extra gen-evidence args...]
  local file="$1" rows="$2" seed="$3"; shift 3
  if [ ! -s "$file" ]; then
    echo "engine.sh: generating $file" >&2
    "$AUDITOR" gen-evidence --rows "$rows" --seed "$seed" "$@" -o "$file"
  fi
}

for n in "${SIZES[@]}"; do
  for fmt in $BENCH_FORMATS; do
    # cur_N is the file timed below; ref_N (drifted, biased) makes an audit pair for peers.sh.
    gen "$DATA/cur_${n}.${fmt}" "$n" 1 --format "$fmt"
  done
done
n0="${SIZES[0]}"
gen "$DATA/ref_${n0}.jsonl" "$n0" 2 --drift 0.3 --bias 0.2
BENCH_LLM="${BENCH_LLM:-1}"
if [ "$BENCH_LLM" = 1 ]; then
  gen "$DATA/llm_ref_${n0}.jsonl" "$n0" 2 --style llm --non-ascii --drift 0.3
  gen "$DATA/llm_cur_${n0}.jsonl" "$n0" 1 --style llm --non-ascii
  # The conventional mapping, once as is and once with the README's [text] section.
  printf '%s\n' 'prediction = "prediction"' 'confidence = "confidence"' 'outcome = "outcome"' \
    'ground_truth = "actual"' 'protected = ["gender", "age_band"]' 'timestamp = "ts"' \
    >"$BENCH_DIR/llm_plain.toml"
  { cat "$BENCH_DIR/llm_plain.toml"; printf '%s\n' '[text]' 'prompt = "prompt"' 'response = "response"'; } \
    >"$BENCH_DIR/llm_text.toml"
fi

# time_case NAME ROWS CMD...: median wall time, median CPU (user + system) time and max RSS
# over BENCH_RUNS runs. CPU time is the steadier figure when something else shares the machine.
rows_out=()
time_case() {
  local name="$1" rows="$2"; shift 2
  local walls=() cpus=() rsss=() i log
  for ((i = 1; i <= BENCH_RUNS; i++)); do
    log="$LOGS/${name// /_}.$i.time"
    /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$LOGS/${name// /_}.$i.stderr" || {
      local rc=$?
      # `auditor audit` exits 1 on AUDIT_FAIL, which is the expected verdict here.
      [ "$rc" -eq 1 ] || die "$name failed (exit $rc), see $LOGS"
    }
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
      for (j = 1; j <= n; j++) s = s * 60 + t[j]; print s }' "$log")")
    cpus+=("$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { print s }' "$log")")
    rsss+=("$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")")
  done
  local wall cpu rss
  wall="$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  cpu="$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  rss="$(printf '%s\n' "${rsss[@]}" | sort -g | tail -n1)"
  rows_out+=("$(awk -v name="$name" -v rows="$rows" -v w="$wall" -v c="$cpu" -v r="$rss" 'BEGIN {
    printf "| %s | %d | %.2f | %.2f | %.2f | %.1f |", name, rows, w, rows / w / 1e6, c, r / 1024 }')")
  echo "engine.sh: $name: ${wall}s, ${rss} KB" >&2
}

for n in "${SIZES[@]}"; do
  for fmt in $BENCH_FORMATS; do
    f="$DATA/cur_${n}.${fmt}"
    time_case "profile $fmt $(du -h "$f" | cut -f1)" "$n" "$AUDITOR" profile -q "$f" -o /dev/null
  done
done
time_case "audit jsonl (baseline + current files)" "$((2 * n0))" \
  "$AUDITOR" audit -q --baseline "$DATA/ref_${n0}.jsonl" --current "$DATA/cur_${n0}.jsonl"
if [ "$BENCH_LLM" = 1 ]; then
  for m in plain text; do
    case "$m" in plain) what="no text mapping" ;; *) what="[text] mapping" ;; esac
    time_case "audit llm jsonl ($what)" "$((2 * n0))" \
      "$AUDITOR" audit -q -m "$BENCH_DIR/llm_${m}.toml" \
      --baseline "$DATA/llm_ref_${n0}.jsonl" --current "$DATA/llm_cur_${n0}.jsonl"
  done
fi

# Twenty input features (10 numeric, 10 categorical): the same two files audited with a mapping
# that ignores the feature columns and with one that names them all.
gen "$DATA/feat_ref_${n0}.jsonl" "$n0" 2 --features 10
gen "$DATA/feat_cur_${n0}.jsonl" "$n0" 3 --features 10 --drift 0.2
base_map="$DATA/mapping_plain.toml"; feat_map="$DATA/mapping_features.toml"
cat >"$base_map" <<'TOML'
prediction = "prediction"
confidence = "confidence"
outcome = "outcome"
ground_truth = "actual"
protected = ["gender", "age_band"]
timestamp = "ts"
TOML
{ cat "$base_map"; echo "[features]";
  echo "numeric = [$(seq -s, 0 9 | sed 's/[0-9]\+/"num_&"/g')]";
  echo "categorical = [$(seq -s, 0 9 | sed 's/[0-9]\+/"cat_&"/g')]"; } >"$feat_map"
for m in plain features; do
  time_case "audit jsonl, 20 feature columns, mapping: $m" "$((2 * n0))" \
    "$AUDITOR" audit -q -m "$DATA/mapping_$m.toml" --baseline "$DATA/feat_ref_${n0}.jsonl" \
    --current "$DATA/feat_cur_${n0}.jsonl"
done

echo
echo "$(nproc) cores; $("$AUDITOR" --version); median of $BENCH_RUNS runs"
echo
echo "| case | rows | wall s | M rows/s | CPU s | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_out[@]}"
