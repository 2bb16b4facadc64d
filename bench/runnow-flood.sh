#!/usr/bin/env bash
# 50 clients flooding run-now (POST /models/{id}/audits) for 30 s while the scheduler runs four
# models every 2 s; prints the statuses and the scheduled runs stored, failed and lost (counted
# through the API), and fails if any scheduled run failed or was lost, a 429 came without
# Retry-After, or another status than 202/429 was answered.
#   bench/runnow-flood.sh [seconds]     (PostgreSQL too when AUDITOR_TEST_POSTGRES_URL is set)
# BENCH_PROFILE=debug uses the debug build (no release build needed).
set -euo pipefail
cd "$(dirname "$0")/.."
release=--release
[ "${BENCH_PROFILE:-release}" = debug ] && release=
AUDITOR_FLOOD_SECS=${1:-30} cargo test $release -p auditor --test api flood -- --nocapture --test-threads 1 2>&1 \
    | grep -E "^flood:|^test |test result|panicked|assert|left|right"
