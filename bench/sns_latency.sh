#!/usr/bin/env bash
# Benchmark for the monitoring chain (issue 13): time from an event's acknowledgement by producer ingestion to the
# alarm notification SNS delivers to an HTTP subscriber (trail -> CloudWatch Logs -> metric filter -> alarm -> SNS),
# p50 and p99 over PROBES events, while LOAD events/s of other records are ingested in the background. The floor in
# the same run: the same notification POSTed straight to the same subscriber. Needs the test venv (scripts/test).
# Environment: PROBES (40), LOAD events/s in the background (5000; 0 for none), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
PROBES=${PROBES:-40}
LOAD=${LOAD:-5000}
venv="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-sns-bench.XXXXXX")
pid=
load_pid=
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh

start_producer_cairn "$cairn" "$work" "[storage]
kind = \"local\"
buckets = [\"bench-bucket\"]"
pid=$CAIRN_PID
if [ "$LOAD" -gt 0 ]; then
  "$loadgen" ingest --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" \
    --secret-access-key "$PRODUCER_SECRET" --records-per-request 100 --concurrency 4 \
    --rate "$(python3 -c "print($LOAD / 100)")" --duration 3600 --warmup 0 > /dev/null &
  load_pid=$!
fi
out=$("$venv/bin/python" bench/sns_latency.py "$CAIRN_ENDPOINT" "$PRODUCER_AKID" "$PRODUCER_SECRET" "$PROBES")
python3 - "$out" "$LOAD" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
print(f"{'figure (' + str(o['probes']) + ' probes, ' + sys.argv[2] + ' events/s of background ingestion)':70} {'p50 ms':>9} {'p99 ms':>9}")
print(f"{'event acknowledged -> alarm notification at the subscriber':70} {o['p50_ms']:9.1f} {o['p99_ms']:9.1f}")
print(f"{'floor: the same notification POSTed straight to the subscriber':70} {o['floor_p50_ms']:9.1f} {o['floor_p99_ms']:9.1f}")
print(f"ratio floor / cairn at p99: {o['floor_p99_ms'] / o['p99_ms']:.3f} (CloudWatch evaluates alarms once a minute)")
PY
