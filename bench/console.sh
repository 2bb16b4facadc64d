#!/usr/bin/env bash
# Console page timings: the overview (`/`) and the findings page (`/console/findings`) rendered
# for a signed-in admin on a database of 1,000 models, 100,000 audits and 1,000,000 findings,
# under wrk on loopback.
#
#   bench/console.sh [workdir] [duration] [connections]
#
# Builds the database once (auditor bench-db; bench/api.sh builds the same one), starts the
# release server on it (SQLite, scheduler off), adds a user with an admin key, signs in through
# POST /auth/login (the console's cookie holds the same session token) and sends the cookie with
# every request. Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-bench/out/console}
duration=${2:-20s}
conns=${3:-8}
# shellcheck source=bench/benchdb.sh
. bench/benchdb.sh
key=$("$bin" admin-key --database-url "$db" --name console-bench)
base_port=18111

# One server per cache setting: the default (the API's 1 s response cache, emptied by every
# write, holds the overview's content per tenant) and none (every page reads the database).
run() {
    local label=$1 ttl=$2 port=$3
    "$bin" serve --database-url "$db" --no-scheduler --bind "127.0.0.1:$port" \
        --cache-ttl-ms "$ttl" >"$work/serve-$label.out" 2>"$work/serve-$label.err" &
    local pid=$!
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
    local base="http://127.0.0.1:$port"
    local user="bench-$label-$(date +%s)" pass="console-bench-passphrase"
    curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
        -d "{\"username\":\"$user\",\"password\":\"$pass\",\"role\":\"admin\"}" "$base/users" >/dev/null
    local token
    token=$(curl -sf -H 'content-type: application/json' \
        -d "{\"username\":\"$user\",\"password\":\"$pass\"}" "$base/auth/login" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    local cookie="Cookie: auditor_session=$token"
    for path in "/" "/console/findings" "/console/findings?severity=HIGH&status=open"; do
        local code
        code=$(curl -s -o "$work/page.html" -w '%{http_code} in %{time_total} s' -H "$cookie" "$base$path")
        grep -q 'Sign out' "$work/page.html" || { echo "not signed in: $path"; kill "$pid"; exit 1; }
        echo "== $label $path: one request $code, $(wc -c <"$work/page.html") bytes"
        echo "== $label $path ($duration, $conns connections, 2 wrk threads)"
        wrk -t2 -c"$conns" -d"$duration" --latency -H "$cookie" "$base$path" \
            | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors|requests in"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run cached 1000 "$base_port"
run uncached 0 $((base_port + 1))
