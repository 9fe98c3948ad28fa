#!/usr/bin/env bash
# Benchmark for trail delivery (issue 9), every baseline measured in the same run:
#  1. ingest throughput through POST /v1/ingest with three logging trails against none (goal: at least 0.8);
#  2. sustained delivery: events delivered per second by the three trails from the load's start until caught up, and
#     after the load alone, to the local backend and to Garage, against the floor (gzip-compressing the same records
#     at the same level into files of the same size and writing each durably, on one thread);
#  3. time from an event's acknowledgement to its log file being visible in the bucket, p50/p99, local and Garage
#     (goal: at most the window plus 2 seconds).
# Environment: DURATION seconds of load (10), CONCURRENCY (16), RECORDS per request (100), WINDOW seconds (5),
# MARKERS for the latency runs (40), BENCH_DIR (a temp dir on /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
RECORDS=${RECORDS:-100}
WINDOW=${WINDOW:-5}
MARKERS=${MARKERS:-40}
LEVEL=6

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-delivery-bench.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  bash scripts/garage.sh stop "$work/garage" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh
akid=$PRODUCER_AKID
secret=$PRODUCER_SECRET
mkdir -p "$work/garage"
eval "$(bash scripts/garage.sh start "$work/garage")"

echo "floor: gzip level $LEVEL + write + fsync of the same records, 5000 per file" >&2
floor=$("$loadgen" gzip-floor --dir "$work/floor" --records-per-file 5000 --level "$LEVEL" --duration "$DURATION")

stop_cairn() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
ingest() {
  "$loadgen" ingest --endpoint "$CAIRN_ENDPOINT" --access-key-id "$akid" --secret-access-key "$secret" \
    --records-per-request "$RECORDS" --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 2 "$@"
}
call() { # call <operation> <json body>
  "$loadgen" call --endpoint "$CAIRN_ENDPOINT" --access-key-id "$akid" --secret-access-key "$secret" \
    --operation "$1" --body "$2" > /dev/null
}
# run <name> <storage TOML> <bucket> <trails>: ingest with N logging trails, then wait for delivery; latency after.
run() {
  local name=$1 storage=$2 bucket=$3 trails=$4
  rm -rf "$work/data"
  start_producer_cairn "$cairn" "$work" "$storage
[delivery]
window_seconds = $WINDOW
gzip_level = $LEVEL"
  pid=$CAIRN_PID
  for i in $(seq 1 "$trails"); do
    call CreateTrail "{\"Name\":\"bench-$i\",\"S3BucketName\":\"$bucket\",\"S3KeyPrefix\":\"$name-$i\",\"IsMultiRegionTrail\":true}"
    call StartLogging "{\"Name\":\"bench-$i\"}"
  done
  echo "$name: ingest with $trails logging trails" >&2
  local t0 result caught_up delivered
  t0=$(date +%s.%N)
  result=$(ingest)
  if [ "$trails" -gt 0 ]; then
    local at_load_end
    at_load_end=$(metric_sum cairn_trail_delivered_events_total)
    caught_up=$(wait_delivered)
    delivered=$(metric_sum cairn_trail_delivered_events_total)
    local elapsed
    elapsed=$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t0")
    echo "$name: latency from acknowledgement to visible object" >&2
    local where
    if [ "$bucket" = "$CAIRN_TEST_S3_BUCKET" ]; then
      where=(--s3-endpoint "$CAIRN_TEST_S3_ENDPOINT" --s3-region "$CAIRN_TEST_S3_REGION"
        --s3-access-key-id "$CAIRN_TEST_S3_ACCESS_KEY_ID" --s3-secret-access-key "$CAIRN_TEST_S3_SECRET_ACCESS_KEY")
    else
      # cairn's own bucket, read through cairn's S3 endpoint as any S3 client would.
      where=(--s3-endpoint "$CAIRN_ENDPOINT" --s3-region us-east-1 --s3-access-key-id "$akid" --s3-secret-access-key "$secret")
    fi
    lat=$("$loadgen" latency --endpoint "$CAIRN_ENDPOINT" --access-key-id "$akid" --secret-access-key "$secret" \
      "${where[@]}" --bucket "$bucket" --prefix "$name-1/" --count "$MARKERS" --interval-ms 250)
    echo "{\"ingest\": $result, \"delivered\": $delivered, \"elapsed_s\": $elapsed, \"caught_up_after_load_s\": $caught_up, \"delivered_at_load_end\": $at_load_end, \"latency\": $lat}"
  else
    echo "{\"ingest\": $result}"
  fi
  stop_cairn
}

local_storage='[storage]
kind = "local"
buckets = ["bench-bucket"]'
s3_storage="[storage]
kind = \"s3\"
endpoint = \"$CAIRN_TEST_S3_ENDPOINT\"
region = \"$CAIRN_TEST_S3_REGION\"
access_key_id = \"$CAIRN_TEST_S3_ACCESS_KEY_ID\"
secret_access_key = \"$CAIRN_TEST_S3_SECRET_ACCESS_KEY\""

none=$(run none "$local_storage" bench-bucket 0)
local_run=$(run local "$local_storage" bench-bucket 3)
garage_run=$(run garage "$s3_storage" "$CAIRN_TEST_S3_BUCKET" 3)

python3 - "$floor" "$none" "$local_run" "$garage_run" "$WINDOW" <<'PY'
import json, sys
floor, none, loc, gar = (json.loads(a) for a in sys.argv[1:5])
window = float(sys.argv[5])
print(f"delivery benchmark: {none['ingest']['concurrency']} clients x records of ~1.9 KB, 3 multi-region trails selecting every event, window {window:.0f} s, gzip level {floor['level']}")
print(f"{'figure':66} {'value':>10} {'goal':>10}")
print(f"{'ingest, no trails (events/s)':66} {none['ingest']['events_per_s']:10.0f}")
for name, r in (("local", loc), ("garage", gar)):
    ratio = r['ingest']['events_per_s'] / none['ingest']['events_per_s']
    print(f"{'ingest, 3 logging trails, ' + name + ' (events/s)':66} {r['ingest']['events_per_s']:10.0f}")
    print(f"{'  ratio to no trails':66} {ratio:10.2f} {'>=0.8':>10}")
print(f"{'floor: gzip + write + fsync, one thread (events/s)':66} {floor['events_per_s']:10.0f}")
for name, r in (("local", loc), ("garage", gar)):
    rate = r['delivered'] / r['elapsed_s']
    print(f"{'delivered, ' + name + ', from load start to caught up (events/s)':66} {rate:10.0f}")
    print(f"{'  ratio to the floor':66} {rate / floor['events_per_s']:10.2f}")
    print(f"{'  events delivered / caught up after the load ended (s)':66} {r['delivered']:10d} {r['caught_up_after_load_s']:>10.1f}")
    after = (r['delivered'] - r['delivered_at_load_end']) / r['caught_up_after_load_s']
    print(f"{'delivered, ' + name + ', after the load, alongside history catching up (events/s)':66} {after:10.0f}")
    print(f"{'  ratio to the floor (one thread; 2 cores here, 3 trails)':66} {after / floor['events_per_s']:10.2f}")
    lat = r['latency']
    print(f"{'ack to visible object, ' + name + ', p50 / p99 (ms)':66} {lat['p50_ms']:5.0f} /{lat['p99_ms']:5.0f} {'<=' + str(int((window + 2) * 1000)):>10}")
    if lat['missing']:
        print(f"  {lat['missing']} of {lat['markers']} markers never became visible")
PY
