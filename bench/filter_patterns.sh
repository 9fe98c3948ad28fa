#!/usr/bin/env bash
# Benchmark for filter patterns (issue 13): the 15 CIS metric filter patterns matched against RECORDS realistic
# CloudTrail records on one thread, against the floor of parsing the same records with serde_json and nothing else, in
# the same run. Prints both rates and the ratio (goal: at least 0.5).
# Environment: RECORDS (200000), RUNS (3), REFERENCE_DIR (../shared/reference beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
reference=${REFERENCE_DIR:-../shared/reference}
cargo build --release -p cairn-loadgen >&2
"$CARGO_TARGET_DIR/release/cairn-loadgen" patterns --tsv "$reference/cis-metric-filters.tsv" \
  --records "${RECORDS:-200000}" --runs "${RUNS:-3}"
