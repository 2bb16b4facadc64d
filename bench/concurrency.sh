#!/usr/bin/env bash
# 50 parallel clients writing and reading for 30 s while the scheduler runs audits every second;
# prints requests, statuses and latency, fails on any 5xx or "database is locked".
#   bench/concurrency.sh [seconds]      (PostgreSQL too when AUDITOR_TEST_POSTGRES_URL is set)
set -euo pipefail
cd "$(dirname "$0")/.."
AUDITOR_CONCURRENCY_SECS=${1:-30} cargo test --release -p auditor --test api concurrency -- --nocapture --test-threads 1 2>&1 \
    | grep -E "^concurrency:|^test |test result|panicked|assert|left|right|errors"
