#!/usr/bin/env bash
# Calibration benchmark (issue "verdicts you can trust"): Monte Carlo of audits on windows drawn
# from an unchanged population (how often does any finding above LOW appear?) and from shifted
# ones (how often is the shift found at HIGH?), per shape and window size, printed per rule as
# markdown. Not a test: the figures go to docs/benchmarks.md.
#
# Usage: bench/calibration.sh [calibration args...]
#   e.g. bench/calibration.sh --shape "compliant" --sizes 100,1000 --trials 2000
#        bench/calibration.sh --alpha 0.02          # another family-wise level
# Deterministic: trials are seeded by (shape, n, trial), whatever the thread count.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --locked -p audit-calibration >&2
exec target/release/calibration "$@"
