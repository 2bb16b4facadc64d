#!/usr/bin/env bash
# Audit cost against the window, not the history (issue 21): daily evidence files, an audit of
# the last day read through the whole glob with --from/--to, against reading that day's file
# alone. Layouts: Hive partitions (dt=YYYY-MM-DD/part.jsonl), dated file names
# (preds-YYYYMMDD.jsonl with --file-date-pattern), and the same flat names without a pattern
# (every file opened: the cost before pruning). Parquet: one file of many row groups, a
# window of one day, skipped by the row groups' timestamp statistics.
#
#   bench/window.sh [DAYS] [ROWS_PER_DAY]     # defaults: 365 days of 20000 rows
#   DAYS=30 ROWS=200000 bench/window.sh 30 200000   # the issue's 30 x 200k measurement
#
# Prints one line per case: median of 5 runs in seconds and the ratio to the single day.
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-365}
rows=${2:-20000}
cargo build -q --release -p auditor
bin=target/release/auditor
dir=${BENCH_DIR:-/tmp/auditor-bench-window-$days-$rows-$(date -u +%Y%m%d)}
day_ms=86400000
interval=$((day_ms / rows))
# Days ending yesterday: the files are written now, so their modification times are after
# every window (the append-only rule keeps them all; partitions and names do the pruning).
start_epoch=$(( $(date -u -d "today 00:00" +%s) - days * 86400 ))
start_day=$(date -u -d "@$start_epoch" +%Y-%m-%d)

if [ ! -e "$dir/.done" ]; then
    rm -rf "$dir" && mkdir -p "$dir/hive" "$dir/named"
    for ((d = 0; d < days; d++)); do
        day=$(date -u -d "@$((start_epoch + d * 86400))" +%Y-%m-%d)
        compact=${day//-/}
        mkdir -p "$dir/hive/dt=$day"
        "$bin" gen-evidence --rows "$rows" --seed $((d + 1)) --start "${day}T00:00:00Z" \
            --interval-ms "$interval" -o "$dir/hive/dt=$day/part.jsonl"
        ln "$dir/hive/dt=$day/part.jsonl" "$dir/named/preds-$compact.jsonl"
    done
    # Parquet: the same days in one file, one row group per 128k rows.
    "$bin" gen-evidence --rows $((rows * days)) --seed 1 --start "${start_day}T00:00:00Z" \
        --interval-ms "$interval" --format parquet -o "$dir/all.parquet"
    touch "$dir/.done"
fi

last=$(date -u -d "@$((start_epoch + (days - 1) * 86400))" +%Y-%m-%d)
from="${last}T00:00:00Z"
to=$(date -u -d "@$((start_epoch + days * 86400))" +%Y-%m-%dT00:00:00Z)

median() {
    local times=()
    for _ in 1 2 3 4 5; do
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | sed -n 3p
}

prof() { "$bin" profile --threads 2 "$@" -o /dev/null; }

single=$(median prof "$dir/hive/dt=$last/part.jsonl")
printf '%-58s %8.3f s  1.00x\n' "single day's file ($rows rows)" "$single"
case_line() {
    local name=$1; shift
    local t
    t=$(median "$@")
    printf '%-58s %8.3f s  %.2fx\n' "$name" "$t" "$(echo "$t / $single" | bc -l)"
    # What that read: rows profiled and what was skipped (from one more, verbose, run).
    "$@" 2>&1 >/dev/null | sed 's/^/    /' || true
}
case_line "$days days, Hive partitions, window = last day" \
    prof "$dir/hive" --from "$from" --to "$to"
case_line "$days days, dated names + --file-date-pattern" \
    prof "$dir/named/*.jsonl" --from "$from" --to "$to" --file-date-pattern 'preds-%Y%m%d'
case_line "$days days, dated names, no pattern (every file read)" \
    prof "$dir/named/*.jsonl" --from "$from" --to "$to"
case_line "Parquet, all $days days in one file, window = last day" \
    prof "$dir/all.parquet" --from "$from" --to "$to"
