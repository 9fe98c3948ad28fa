#!/usr/bin/env bash
# Benchmark for trails watched by CloudWatch Logs (issue 13): producer ingestion with no trail, against the same with
# a logging trail that delivers to S3 and to a CloudWatch Logs group carrying the 15 CIS metric filters, in one run.
# Two figures each: events acknowledged per second while the load runs (the issue's goal: with the trail at least 0.8
# of the rate without), and the sustained rate, from the first request until every journal consumer (event history,
# and with the trail its S3 delivery and its log group with the metric filters applied) has caught up.
# Environment: DURATION seconds (10), CONCURRENCY (16), RECORDS per request (100), WINDOW (5), BENCH_DIR,
# REFERENCE_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
RECORDS=${RECORDS:-100}
# The trail's log files close this many seconds after their first event: the sustained figure waits for them.
WINDOW=${WINDOW:-5}
reference=${REFERENCE_DIR:-../shared/reference}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-ingest-logs-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source bench/lib.sh

# run <label> <setup function>: a fresh cairn, the setup, then DURATION seconds of ingestion; prints one JSON line.
run() {
  rm -rf "$work/data"
  start_producer_cairn "$cairn" "$work" "[storage]
kind = \"local\"
buckets = [\"bench-bucket\"]
[delivery]
window_seconds = $WINDOW"
  pid=$CAIRN_PID
  local endpoint=$CAIRN_ENDPOINT
  call() { "$loadgen" call --endpoint "$endpoint" --access-key-id "$PRODUCER_AKID" \
    --secret-access-key "$PRODUCER_SECRET" --operation "$1" --body "$2" > /dev/null; }
  "$2" call
  local started=$(date +%s.%N)
  local out=$("$loadgen" ingest --endpoint "$endpoint" --access-key-id "$PRODUCER_AKID" \
    --secret-access-key "$PRODUCER_SECRET" --records-per-request "$RECORDS" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup 0)
  local acked=$(date +%s.%N)
  # Until every journal consumer has taken every record (one light poller, twice a second): event history and
  # Lake once they have read it (history answers from memory until its next flush), a trail's deliveries once
  # their output is durable.
  python3 - "$endpoint/metrics" <<'PY'
import sys, time, urllib.request
def metric(text, name):
    return {l.split('"')[1]: float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + "{")}
for _ in range(2400):
    text = urllib.request.urlopen(sys.argv[1]).read().decode()
    committed = float(next(l.split()[-1] for l in text.splitlines() if l.startswith("cairn_journal_committed_records ")))
    lag, position = metric(text, "cairn_consumer_lag_records"), metric(text, "cairn_consumer_position_records")
    if all(position[c] >= committed if c in ("history", "lake") else lag[c] == 0 for c in lag):
        break
    time.sleep(0.5)
PY
  local delivered=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(json.dumps({"label": sys.argv[2], "events": (o["requests"] - o["errors"]) * int(sys.argv[6]), "ack_s": float(sys.argv[4]) - float(sys.argv[3]), "all_s": float(sys.argv[5]) - float(sys.argv[3]), "errors": o["errors"]}))' \
    "$out" "$1" "$started" "$acked" "$delivered" "$RECORDS"
}

no_trail() { :; }
watched() {
  local call=$1
  $call Logs_20140328.CreateLogGroup '{"logGroupName":"CloudTrail/bench"}'
  local i=0
  tail -n +2 "$reference/cis-metric-filters.tsv" | while IFS=$'\t' read -r id _ pattern; do
    [ -n "$id" ] || continue
    body=$(python3 -c 'import json,sys; print(json.dumps({"logGroupName":"CloudTrail/bench","filterName":sys.argv[1],"filterPattern":sys.argv[2],"metricTransformations":[{"metricName":sys.argv[1],"metricNamespace":"CISBenchmark","metricValue":"1"}]}))' "$id" "$pattern")
    $call Logs_20140328.PutMetricFilter "$body"
  done
  $call CreateTrail '{"Name":"watched","S3BucketName":"bench-bucket","CloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111111111111:log-group:CloudTrail/bench:*","CloudWatchLogsRoleArn":"arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role","IsMultiRegionTrail":true}'
  $call StartLogging '{"Name":"watched"}'
}

echo "ingestion with no trail" >&2
base=$(run "no trail" no_trail)
echo "ingestion with a trail to S3 and to a log group with the 15 CIS metric filters" >&2
with=$(run "trail to CloudWatch Logs" watched)
python3 - "$base" "$with" <<'PY'
import json, sys
base, with_ = (json.loads(a) for a in sys.argv[1:3])
b = base["events"] / base["ack_s"]
b_all = base["events"] / base["all_s"]
w_ack = with_["events"] / with_["ack_s"]
w_all = with_["events"] / with_["all_s"]
print(f"{'figure':78} {'events/s':>12}")
print(f"{'no trail: acknowledged':78} {b:12.0f}")
print(f"{'  ... sustained, until event history has read every event':78} {b_all:12.0f}")
print(f"{'trail to S3 and CloudWatch Logs (15 CIS metric filters): acknowledged':78} {w_ack:12.0f}")
print(f"{'  ... sustained, until history, the S3 log files and the log group have every event':78} {w_all:12.0f}")
print(f"ratio acknowledged with the trail / without: {w_ack / b:.2f} (goal: at least 0.8)")
print(f"ratio sustained with the trail / without: {w_all / b_all:.2f}")
print(f"errors: {base['errors']} without, {with_['errors']} with")
PY
