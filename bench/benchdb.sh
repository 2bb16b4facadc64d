# Sourced by bench/api.sh and bench/console.sh: the release build and the benchmark database of
# 1,000 models, 100,000 audits and 1,000,000 findings in "$work" (built once, then reused).
# Sets bin and db; needs work set and wrk installed.
mkdir -p "$work"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 2; }
cargo build --release -p auditor -q
bin=target/release/auditor
db="$work/bench.db"
if [ ! -s "$db" ]; then
    "$bin" bench-db --database-url "$db" --models 1000 --audits 100000 --findings 1000000
fi
ls -la "$db"
