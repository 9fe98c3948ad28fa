#!/usr/bin/env bash
# Benchmark for log file validation (issue 11), every baseline measured in the same run:
#  1. validating HOURS (24) of a busy trail (HOURS x FILES_PER_HOUR log files of RECORDS_PER_FILE records and their
#     signed hourly digests, written by cairn's own delivery code into cairn's bucket and served by cairn) with
#     `cairn validate-logs` and with `aws cloudtrail validate-logs` (goal: cairn at least 20 times faster);
#  2. cairn's hashed (uncompressed) bytes per second against the machine's single-core SHA-256 throughput;
#  3. the cost of per-event proofs on ingest: events/s ingested and delivered by TRAILS trails with log file validation
#     and per-event trees against the same trails validating without them ([delivery] event_proofs = false; goal: at
#     most 5% fewer), and against trails without validation; digests every DIGEST_INTERVAL s.
# Environment: HOURS (24), FILES_PER_HOUR (100), RECORDS_PER_FILE (50), DURATION seconds of ingest (10),
# CONCURRENCY (16), RECORDS per request (100), DIGEST_INTERVAL (5), TRAILS logging (3), BENCH_DIR (a temp dir on /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
HOURS=${HOURS:-24}
FILES_PER_HOUR=${FILES_PER_HOUR:-100}
RECORDS_PER_FILE=${RECORDS_PER_FILE:-50}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
RECORDS=${RECORDS:-100}
DIGEST_INTERVAL=${DIGEST_INTERVAL:-5}
TRAILS=${TRAILS:-3}
venv="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
aws="$venv/bin/aws"
[ -x "$aws" ] || { echo "run scripts/test once first: it installs the AWS CLI into $venv" >&2; exit 1; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-validate-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source bench/lib.sh
stop_cairn() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

echo "floor: SHA-256 on one core" >&2
sha_floor=$("$loadgen" sha256-floor --mib 1024)

echo "fixture: $HOURS hours x $FILES_PER_HOUR log files x $RECORDS_PER_FILE records, with digests" >&2
end=$(( $(date +%s) - 600 ))
fixture=$("$loadgen" digest-fixture --data-dir "$work/data" --bucket bench-logs --trail busy-trail \
  --hours "$HOURS" --files-per-hour "$FILES_PER_HOUR" --records-per-file "$RECORDS_PER_FILE" --end "$end")
start_producer_cairn "$cairn" "$work" '[storage]
kind = "local"
buckets = []'
pid=$CAIRN_PID
export AWS_ACCESS_KEY_ID=$PRODUCER_AKID AWS_SECRET_ACCESS_KEY=$PRODUCER_SECRET AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$CAIRN_ENDPOINT AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
from=$(date -u -d "@$(( end - HOURS * 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)
args=(--trail-arn arn:aws:cloudtrail:us-east-1:111111111111:trail/busy-trail --start-time "$from" --end-time "$to"
  --s3-bucket bench-logs)
timed() { # timed <output file> <command...>: prints the seconds it ran; it must exit 0
  local t0 t1
  t0=$(date +%s.%N)
  "${@:2}" > "$1" 2>&1 || { echo "failed: ${*:2}: $(tail -5 "$1")" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$t1" "$t0"
}
echo "validation: cairn validate-logs" >&2
cairn_s=$(timed "$work/cairn.out" "$cairn" validate-logs "${args[@]}")
echo "validation: cairn validate-logs --events (per-event trees too)" >&2
events_s=$(timed "$work/events.out" "$cairn" validate-logs "${args[@]}" --events)
echo "validation: aws cloudtrail validate-logs" >&2
aws_s=$(timed "$work/aws.out" "$aws" cloudtrail validate-logs "${args[@]}")
tail -4 "$work/aws.out" | diff - <(tail -4 "$work/cairn.out") >&2 || { echo "the summaries differ" >&2; exit 1; }
grep -q "^$(( HOURS * FILES_PER_HOUR ))/$(( HOURS * FILES_PER_HOUR )) log files valid" "$work/cairn.out" \
  || { echo "not every log file validated: $(tail -4 "$work/cairn.out")" >&2; exit 1; }
stop_cairn

# ingest_with <trail validation true|false> <event proofs true|false>: events/s ingested, and delivered until caught
# up, by 3 logging trails.
ingest_with() {
  rm -rf "$work/data"
  start_producer_cairn "$cairn" "$work" "[storage]
kind = \"local\"
buckets = [\"bench-bucket\"]
[delivery]
window_seconds = 5
digest_interval_seconds = $DIGEST_INTERVAL
event_proofs = $2"
  pid=$CAIRN_PID
  local validation=$1
  for i in $(seq 1 "$TRAILS"); do
    "$loadgen" call --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" --secret-access-key "$PRODUCER_SECRET" \
      --operation CreateTrail --body "{\"Name\":\"bench-$i\",\"S3BucketName\":\"bench-bucket\",\"S3KeyPrefix\":\"t$i\",\"IsMultiRegionTrail\":true,\"EnableLogFileValidation\":$validation}" > /dev/null
    "$loadgen" call --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" --secret-access-key "$PRODUCER_SECRET" \
      --operation StartLogging --body "{\"Name\":\"bench-$i\"}" > /dev/null
  done
  local t0 result delivered
  t0=$(date +%s.%N)
  result=$("$loadgen" ingest --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" --secret-access-key "$PRODUCER_SECRET" \
    --records-per-request "$RECORDS" --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 2)
  wait_delivered > /dev/null
  delivered=$(metric_sum cairn_trail_delivered_events_total)
  local elapsed
  elapsed=$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t0")
  if [ "$validation" = true ]; then
    digests=$(AWS_ENDPOINT_URL=$CAIRN_ENDPOINT "$aws" s3 ls --recursive s3://bench-bucket/t1/ | grep -c CloudTrail-Digest || true)
    [ "$digests" -gt 0 ] || { echo "the validating trails wrote no digests" >&2; exit 1; }
  fi
  stop_cairn
  echo "{\"ingest\": $result, \"delivered\": $delivered, \"elapsed_s\": $elapsed}"
}
echo "ingest: $TRAILS trails without log file validation" >&2
plain=$(ingest_with false false)
echo "ingest: $TRAILS trails with log file validation, without per-event trees" >&2
files_only=$(ingest_with true false)
echo "ingest: $TRAILS trails with log file validation and per-event trees" >&2
proofs=$(ingest_with true true)

python3 - "$sha_floor" "$fixture" "$cairn_s" "$events_s" "$aws_s" "$plain" "$proofs" "$files_only" "$TRAILS" <<'PY'
import json, sys
floor, fixture = json.loads(sys.argv[1]), json.loads(sys.argv[2])
cairn_s, events_s, aws_s = (float(a) for a in sys.argv[3:6])
plain, proofs, files_only = json.loads(sys.argv[6]), json.loads(sys.argv[7]), json.loads(sys.argv[8])
trails = sys.argv[9]
files, digests = fixture["log_files"], fixture["digests"]
print(f"log file validation benchmark: {digests} hours, {files} log files of {fixture['events'] // files} events "
      f"({fixture['uncompressed_bytes'] / 1e6:.0f} MB uncompressed, {fixture['compressed_bytes'] / 1e6:.0f} MB gzip), "
      f"{digests} signed digests, served by cairn on loopback")
print(f"{'figure':60} {'value':>12} {'goal':>10}")
print(f"{'aws cloudtrail validate-logs (s)':60} {aws_s:12.2f}")
print(f"{'cairn validate-logs (s)':60} {cairn_s:12.2f}")
print(f"{'  speed-up over the AWS CLI':60} {aws_s / cairn_s:12.1f} {'>=20':>10}")
print(f"{'cairn validate-logs --events (s)':60} {events_s:12.2f}")
hashed = fixture["uncompressed_bytes"] / cairn_s
print(f"{'cairn hashed bytes/s (uncompressed, end to end)':60} {hashed / 1e6:10.0f} MB")
print(f"{'single-core SHA-256 floor':60} {floor['bytes_per_s'] / 1e6:10.0f} MB")
print(f"{'  ratio to the floor':60} {hashed / floor['bytes_per_s']:12.2f}")
runs = (("no validation", plain), ("validation, no event trees", files_only), ("validation and event trees", proofs))
for name, r in runs:
    print(f"{f'ingest, {trails} trails, ' + name + ' (events/s)':60} {r['ingest']['events_per_s']:12.0f}")
    print(f"{f'delivered, {trails} trails, ' + name + ' (events/s)':60} {r['delivered'] / r['elapsed_s']:12.0f}")
rate = lambda r: r["delivered"] / r["elapsed_s"]
ingest = lambda r: r["ingest"]["events_per_s"]
print(f"{'  ingest, event trees / none (both validating)':60} {ingest(proofs) / ingest(files_only):12.3f} {'>=0.95':>10}")
print(f"{'  delivery, event trees / none (both validating)':60} {rate(proofs) / rate(files_only):12.3f} {'>=0.95':>10}")
print(f"{'  ingest, validation with trees / no validation':60} {ingest(proofs) / ingest(plain):12.3f}")
print(f"{'  delivery, validation with trees / no validation':60} {rate(proofs) / rate(plain):12.3f}")
PY
