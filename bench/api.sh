#!/usr/bin/env bash
# API throughput: GET /dashboard/overview and GET /findings?severity=HIGH on a database of
# 1,000 models, 100,000 audits and 1,000,000 findings, under wrk on loopback.
#
#   bench/api.sh [workdir] [duration] [connections]
#
# Builds the database once (auditor bench-db), then measures with the response cache on (the
# default, 1 s TTL, invalidated by every write) and off (every request hits the database).
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-bench/out/api}
duration=${2:-20s}
conns=${3:-64}
# shellcheck source=bench/benchdb.sh
. bench/benchdb.sh
# Every route needs credentials: mint an admin key for the run (printed once, kept in a file).
key=$("$bin" admin-key --database-url "$db" --name bench)
auth="Authorization: Bearer $key"

run() {
    local label=$1 ttl=$2 port=$3
    "$bin" serve --database-url "$db" --no-scheduler --bind "127.0.0.1:$port" \
        --cache-ttl-ms "$ttl" >"$work/serve-$label.out" 2>"$work/serve-$label.err" &
    local pid=$!
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
    for path in "/dashboard/overview" "/findings?severity=HIGH"; do
        curl -sf -H "$auth" "http://127.0.0.1:$port$path" >/dev/null
        echo "== $label $path ($duration, $conns connections, 2 wrk threads)"
        wrk -t2 -c"$conns" -d"$duration" --latency -H "$auth" "http://127.0.0.1:$port$path" \
            | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors|requests in"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run cached 1000 18101
run uncached 0 18102
