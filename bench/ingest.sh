#!/usr/bin/env bash
# Benchmark for producer ingestion (issue 3): events/s through POST /v1/ingest with durable acknowledgement, the
# acknowledgement latency at half that load, and cairn's peak resident memory, against the hardware floor measured
# in the same run: appending and fdatasyncing the same record bytes (with the journal's framing) to a file on the
# same disk, with the same batching. Records are realistic CloudTrail records of 1-2 KB (crates/cairn-loadgen).
# Environment: DURATION seconds (10), CONCURRENCY (16), RECORDS per request (100), BENCH_DIR (a temp dir on /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
RECORDS=${RECORDS:-100}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-ingest-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

source bench/lib.sh
akid=$PRODUCER_AKID
secret=$PRODUCER_SECRET
echo "floor: write + fdatasync of the same bytes" >&2
floor_request=$("$loadgen" floor --file "$work/floor.bin" --records-per-batch "$RECORDS" --duration "$DURATION")
floor_group=$("$loadgen" floor --file "$work/floor.bin" --records-per-batch $((RECORDS * CONCURRENCY)) --duration "$DURATION")

start_producer_cairn "$cairn" "$work"
pid=$CAIRN_PID
port=${CAIRN_ENDPOINT##*:}
ingest() {
  "$loadgen" ingest --endpoint "http://127.0.0.1:$port" --access-key-id "$akid" --secret-access-key "$secret" \
    --records-per-request "$RECORDS" --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 2 "$@"
}
echo "cairn at full speed" >&2
full=$(ingest)
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
rate=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['throughput_rps'] / 2)" "$full")
echo "cairn at half load ($rate requests/s)" >&2
half=$(ingest --rate "$rate")
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
journal_mb=$(du -sm "$work/data/journal" | cut -f1)

python3 - "$floor_request" "$floor_group" "$full" "$half" "$peak_kb" "$rss_kb" "$journal_mb" <<'PY'
import json, sys
fr, fg, full, half = (json.loads(a) for a in sys.argv[1:5])
peak_mb, rss_mb, journal_mb = int(sys.argv[5]) / 1024, int(sys.argv[6]) / 1024, sys.argv[7]
print(f"ingest benchmark: {full['concurrency']} clients x {fr['records_per_batch']} records/request, records of {fr['avg_record_bytes']:.0f} bytes on average")
print(f"{'figure':60} {'value':>12} {'goal':>12}")
print(f"{'floor: fdatasync per ' + str(fr['records_per_batch']) + ' records (events/s)':60} {fr['events_per_s']:12.0f}")
print(f"{'floor: fdatasync per ' + str(fg['records_per_batch']) + ' records (events/s)':60} {fg['events_per_s']:12.0f}")
print(f"{'cairn: durable ingest at full speed (events/s)':60} {full['events_per_s']:12.0f} {100000:12d}")
print(f"{'cairn / floor at the same per-fsync batch of ' + str(fg['records_per_batch']):60} {full['events_per_s'] / fg['events_per_s']:12.2f}")
print(f"{'cairn / floor at one request per fsync':60} {full['events_per_s'] / fr['events_per_s']:12.2f}")
print(f"{'cairn: ack latency p50 / p99 at full speed (ms)':60} {full['p50_ms']:6.1f} /{full['p99_ms']:5.1f}")
print(f"{'cairn: ack latency p50 / p99 at half load (ms)':60} {half['p50_ms']:6.1f} /{half['p99_ms']:5.1f} {'p99<=50':>12}")
print(f"{'half load achieved (events/s)':60} {half['events_per_s']:12.0f}")
print(f"{'cairn: peak resident memory while ingesting (MB)':60} {peak_mb:12.0f} {'<=1024':>12}")
print(f"{'cairn: resident memory after the runs (MB)':60} {rss_mb:12.0f}")
print(f"{'journal written (MB)':60} {journal_mb:>12}")
print(f"errors: {full['errors']} at full speed, {half['errors']} at half load")
PY
