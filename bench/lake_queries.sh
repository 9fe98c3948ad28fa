#!/usr/bin/env bash
# Benchmark for Lake queries (issue 12): typical investigation queries over EVENTS events (10 million by default),
# answered by cairn (offline `cairn query` over the local store `cairn import` fills) and, in the same run, by DuckDB
# reading the same Parquet files. Prints each query's median time on both, the ratio, and the geometric mean ratio.
# Environment: EVENTS, THREADS (2), RUNS (3), BENCH_DIR (/tmp), STORE_DIR (reuse an imported store), DUCKDB_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
EVENTS=${EVENTS:-10000000}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
DUCKDB_VERSION=${DUCKDB_VERSION:-1.4.2}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
source bench/lib.sh
bench_venv_with_duckdb "$DUCKDB_VERSION"

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-lake-queries.XXXXXX")
trap 'rm -rf "$work"' EXIT
store=${STORE_DIR:-$work/store}
if [ ! -d "$store/events" ]; then
  # The archive generator's records average about 14,000 per MiB of gzip; a little more, to pass EVENTS.
  mib=$(( EVENTS / 13500 + 1 ))
  echo "writing about $EVENTS events ($mib MiB of gzip log files), then importing them" >&2
  "$loadgen" archive --dir "$work/archive" --gzip-mib "$mib" --threads "$THREADS" >&2
  "$cairn" import "$work/archive" --store-dir "$store" --threads "$THREADS" >&2
  rm -rf "$work/archive"
fi
sync
"$venv/bin/python" bench/lake_queries.py "$cairn" "$store" "$RUNS" "$THREADS"
