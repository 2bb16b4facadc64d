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
mkdir -p "$work"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 2; }
cargo build --release -p auditor -q
bin=target/release/auditor
db="$work/bench.db"
if [ ! -s "$db" ]; then
    "$bin" bench-db --database-url "$db" --models 1000 --audits 100000 --findings 1000000
fi
ls -la "$db"
key=$("$bin" admin-key --database-url "$db" --name console-bench)
port=18111
"$bin" serve --database-url "$db" --no-scheduler --bind "127.0.0.1:$port" \
    >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port"
user="bench-$(date +%s)"
pass="console-bench-passphrase"
curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$pass\",\"role\":\"admin\"}" "$base/users" >/dev/null
token=$(curl -sf -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$pass\"}" "$base/auth/login" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
cookie="Cookie: auditor_session=$token"
for path in "/" "/console/findings" "/console/findings?severity=HIGH&status=open"; do
    code=$(curl -s -o "$work/page.html" -w '%{http_code} %{time_total}' -H "$cookie" "$base$path")
    echo "== $path: one request $code s, $(wc -c <"$work/page.html") bytes"
    grep -q 'Sign out' "$work/page.html" || { echo "not signed in: $path"; exit 1; }
    echo "== $path ($duration, $conns connections, 2 wrk threads)"
    wrk -t2 -c"$conns" -d"$duration" --latency -H "$cookie" "$base$path" \
        | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors|requests in"
done
