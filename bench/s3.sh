#!/usr/bin/env bash
# Benchmark for cairn's S3 endpoint (issue 10) against Garage on the same machine, in one run:
#  1. PutObject of 20 KB objects from 16 connections for DURATION seconds (each acknowledged write durable);
#  2. GetObject of the same objects from 16 connections;
#  3. full ListObjectsV2 walks (pages of 1,000) of a bucket holding OBJECTS log-file-like keys.
# Goal: cairn at least as fast as Garage on each (ratio >= 1). Environment: DURATION (10), CONCURRENCY (16),
# SIZE (20480), OBJECTS (100000), BENCH_DIR (a temp dir on /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
SIZE=${SIZE:-20480}
OBJECTS=${OBJECTS:-100000}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-s3-bench.XXXXXX")
cleanup() {
  [ -n "${CAIRN_PID:-}" ] && kill "$CAIRN_PID" 2>/dev/null
  bash scripts/garage.sh stop "$work/garage" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source bench/lib.sh
mkdir -p "$work/garage" "$work/cairn"
eval "$(bash scripts/garage.sh start "$work/garage")"
start_producer_cairn "$cairn" "$work/cairn" '[storage]
kind = "local"
buckets = ["bench-bucket"]'

cairn_target=(--s3-endpoint "$CAIRN_ENDPOINT" --s3-region us-east-1 --s3-access-key-id "$PRODUCER_AKID"
  --s3-secret-access-key "$PRODUCER_SECRET" --bucket bench-bucket)
garage_target=(--s3-endpoint "$CAIRN_TEST_S3_ENDPOINT" --s3-region "$CAIRN_TEST_S3_REGION"
  --s3-access-key-id "$CAIRN_TEST_S3_ACCESS_KEY_ID" --s3-secret-access-key "$CAIRN_TEST_S3_SECRET_ACCESS_KEY"
  --bucket "$CAIRN_TEST_S3_BUCKET")

measure() { # measure <name> <target...>: prints one JSON object of the three figures
  local name=$1; shift
  echo "$name: put" >&2
  local put get fill list
  put=$("$loadgen" s3-load "$@" --op put --concurrency "$CONCURRENCY" --duration "$DURATION" --size "$SIZE")
  echo "$name: get" >&2
  get=$("$loadgen" s3-load "$@" --op get --concurrency "$CONCURRENCY" --duration "$DURATION" --size "$SIZE" --keys 1000)
  echo "$name: fill $OBJECTS objects" >&2
  fill=$("$loadgen" s3-fill "$@" --count "$OBJECTS")
  echo "$name: list" >&2
  list=$("$loadgen" s3-list "$@" --count "$OBJECTS")
  echo "{\"put\": $put, \"get\": $get, \"fill\": $fill, \"list\": $list}"
}

cairn_run=$(measure cairn "${cairn_target[@]}")
garage_run=$(measure garage "${garage_target[@]}")

python3 - "$cairn_run" "$garage_run" "$CONCURRENCY" "$SIZE" "$OBJECTS" <<'PY'
import json, sys
c, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
conc, size, objects = sys.argv[3:6]
print(f"S3 benchmark: cairn's S3 endpoint vs Garage on the same machine, {conc} connections, {size}-byte objects")
print(f"{'figure':52} {'cairn':>10} {'garage':>10} {'ratio':>7} {'goal':>6}")
for op in ("put", "get"):
    cr, gr = c[op]["requests_per_s"], g[op]["requests_per_s"]
    print(f"{op.upper() + 'Object (requests/s)':52} {cr:10.0f} {gr:10.0f} {cr / gr:7.2f} {'>=1':>6}")
    print(f"{'  p50 / p99 (ms)':52} {c[op]['p50_ms']:4.1f}/{c[op]['p99_ms']:5.1f} {g[op]['p50_ms']:4.1f}/{g[op]['p99_ms']:5.1f}")
    print(f"{'  errors':52} {c[op]['errors']:10d} {g[op]['errors']:10d}")
cl, gl = c["list"]["median_ms"], g["list"]["median_ms"]
print(f"{'ListObjectsV2, full walk of ' + objects + ' keys (ms, median)':52} {cl:10.0f} {gl:10.0f} {gl / cl:7.2f} {'>=1':>6}")
print(f"{'  (fill of the bucket, s: not a goal)':52} {c['fill']['seconds']:10.1f} {g['fill']['seconds']:10.1f}")
PY
