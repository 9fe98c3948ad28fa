#!/usr/bin/env bash
# Benchmark for the console (issue 14): how fast its first page is interactive on loopback (goal: within 1 s) and
# how long an event history page of 50 takes to render once LookupEvents has answered (goal: within 200 ms), in
# Debian's Chromium driven by Playwright against a release cairn holding EVENTS ingested events. Baselines in the
# same run: the same page with its script blocked (the browser's and server's floor for the page) and the same 50
# rows written as one HTML string into the same page (the DOM's floor).
# Environment: EVENTS (20000), RUNS (20), BENCH_DIR. Needs scripts/console-deps.sh (Chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
EVENTS=${EVENTS:-20000}
RUNS=${RUNS:-20}

bash scripts/console-deps.sh
cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-console-bench.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh

start_producer_cairn "$cairn" "$work"
pid=$CAIRN_PID
# EVENTS realistic records into event history: 100 a request for EVENTS/100 requests, then until history has them.
"$loadgen" ingest --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" --secret-access-key "$PRODUCER_SECRET" \
  --records-per-request 100 --concurrency 2 --rate "$(( EVENTS / 100 / 2 ))" --duration 2 --warmup 0 > /dev/null
sleep 2
cd crates/cairn-console/web
node ../../../bench/console.mjs "$CAIRN_ENDPOINT" "$PRODUCER_AKID" "$PRODUCER_SECRET" "$RUNS"
