#!/usr/bin/env bash
# Benchmark for LookupEvents (issue 3): p50 and p99 latency of the first page (50 events, newest first) for each of
# the eight lookup attributes, over $EVENTS stored events spread over 80 days, for cairn and, in the same run, for
# DuckDB answering the same lookups over the same events: cairn's own history Parquet files, read by DuckDB as they
# are. Also cairn's resident memory once idle, the fill rate, and four SQL statements over the same events answered
# by cairn's query API (DataFusion) and by DuckDB over the same files (bench/query_sql.py).
# Environment: EVENTS (10000000, the issue's figure), SECONDS per lookup (5), SQL_RUNS per statement (5), BENCH_DIR (/tmp; needs about 3 KB of
# disk per event while filling).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
EVENTS=${EVENTS:-10000000}
SECONDS_PER=${SECONDS:-5}
SQL_RUNS=${SQL_RUNS:-5}
DUCKDB_VERSION=${DUCKDB_VERSION:-1.4.2}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
source bench/lib.sh
bench_venv_with_duckdb "$DUCKDB_VERSION"

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-lookup-bench.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP_WORK:-}" ] && trap - EXIT
akid=$PRODUCER_AKID
secret=$PRODUCER_SECRET
# A short flush interval so every event is in the Parquet files DuckDB reads once the fill is over.
start_producer_cairn "$cairn" "$work" $'[history]\nflush_interval_seconds = 5'

pid=$CAIRN_PID
endpoint=$CAIRN_ENDPOINT

echo "filling cairn with $EVENTS events" >&2
fill_start=$(date +%s.%N)
"$loadgen" fill --endpoint "$endpoint" --access-key-id "$akid" --secret-access-key "$secret" --events "$EVENTS" >&2
fill_secs=$(python3 -c "import time; print(time.time() - $fill_start)")
# Wait until history's checkpoint covers the whole journal: every event is in a Parquet file.
python3 - "$work/data/journal" <<'PY'
import os, struct, sys, time
journal = sys.argv[1]
def committed():
    # Records are dense from 0; the checkpoint is compared with the count the consumer reports in its file.
    with open(os.path.join(journal, "checkpoints", "history.ckpt"), "rb") as f:
        return struct.unpack("<Q", f.read()[8:16])[0]
last, stable = -1, 0
while stable < 3:
    time.sleep(2)
    c = committed()
    stable = stable + 1 if c == last and c > 0 else 0
    last = c
print(f"history checkpoint at {last}", file=sys.stderr)
PY
rss_during_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
# Restart with the default flush policy (the short interval above was only for the fill): lookups then run against
# a server that has just opened its files, as after any restart.
kill "$pid"; wait "$pid" 2>/dev/null || true
restart_start=$(date +%s.%N)
start_producer_cairn "$cairn" "$work"
pid=$CAIRN_PID
endpoint=$CAIRN_ENDPOINT
restart_ms=$(python3 -c "import time; print(round((time.time() - $restart_start) * 1000))")

# One lookup per attribute, with values the generated records are known to hold (crates/cairn-loadgen/src/records.rs:
# record i is in region [us-east-1, eu-west-1, ap-southeast-2][i % 3]).
python3 - "$EVENTS" > "$work/lookups.json" <<'PY'
import json, sys
n = int(sys.argv[1])
mid = (n // 2) // 3 * 3 + 1  # a record in eu-west-1 near the middle of the range
print(json.dumps([
    {"key": "EventId", "value": f"00000000-0000-4000-8000-{mid:012x}", "region": "eu-west-1"},
    {"key": "EventName", "value": "RunInstances", "region": "eu-west-1"},
    {"key": "ReadOnly", "value": "false", "region": "eu-west-1"},
    {"key": "Username", "value": f"session-{mid}", "region": "eu-west-1"},
    {"key": "ResourceType", "value": "AWS::EC2::Instance", "region": "eu-west-1"},
    {"key": "ResourceName", "value": "arn:aws:ec2:eu-west-1:111111111111:instance/i-00000001", "region": "eu-west-1"},
    {"key": "EventSource", "value": "ec2.amazonaws.com", "region": "eu-west-1"},
    {"key": "AccessKeyId", "value": "ASIAEXAMPLE000000004", "region": "eu-west-1"},
]))
PY

echo "cairn lookups" >&2
: > "$work/cairn.jsonl"
python3 -c 'import json,sys; [print(json.dumps(l)) for l in json.load(open(sys.argv[1]))]' "$work/lookups.json" |
while read -r lk; do
  key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$lk")
  body=$(python3 -c 'import json,sys; l=json.loads(sys.argv[1]); print(json.dumps({"LookupAttributes":[{"AttributeKey":l["key"],"AttributeValue":l["value"]}],"MaxResults":50}))' "$lk")
  "$loadgen" run --endpoint "$endpoint" --access-key-id "$akid" --secret-access-key "$secret" --region eu-west-1 \
    --operation LookupEvents --body "$body" --concurrency 1 --duration "$SECONDS_PER" --warmup 1 |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["key"]=sys.argv[1]; print(json.dumps(r))' "$key" >> "$work/cairn.jsonl"
done
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "cairn SQL" >&2
python3 bench/query_sql.py cairn "$cairn" "$endpoint" "$akid" "$secret" "$SQL_RUNS" > "$work/sql_cairn.jsonl"

# Stop cairn first: its own lookups are events too, and its flushes and merges would change the files under DuckDB.
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "DuckDB lookups" >&2
"$venv/bin/python" bench/lookup_duckdb.py "$work/data/history" "$work/lookups.json" "$SECONDS_PER" > "$work/duckdb.jsonl"
"$venv/bin/python" bench/query_sql.py duckdb "$work/data/history" "$SQL_RUNS" > "$work/sql_duckdb.jsonl"
files=$(find "$work/data/history" -name '*.parquet' | wc -l)
disk_mb=$(du -sm "$work/data/history" | cut -f1)

python3 - "$work/sql_cairn.jsonl" "$work/sql_duckdb.jsonl" <<'PY'
import json, sys
cairn = [json.loads(l) for l in open(sys.argv[1])]
duck = {r["name"]: r for r in map(json.loads, open(sys.argv[2]))}
print("SQL over event history (median of runs; cairn: server execution time, DuckDB: in-process over the same files)")
print(f"{'statement':24} {'cairn ms':>9} {'duckdb ms':>10} {'cairn/duck':>10} {'rows':>10}")
for c in cairn:
    d = duck[c["name"]]
    print(f"{c['name']:24} {c['median_ms']:9.1f} {d['median_ms']:10.1f} {c['median_ms'] / max(d['median_ms'], 1e-9):9.2f}x {c['rows']:>4}/{d['rows']:<5}")
PY
python3 - "$work/cairn.jsonl" "$work/duckdb.jsonl" "$rss_kb" "$EVENTS" "$fill_secs" "$rss_during_kb" "$files" "$disk_mb" "$restart_ms" <<'PY'
import json, sys
cairn = {r["key"]: r for r in map(json.loads, open(sys.argv[1]))}
duck = {r["key"]: r for r in map(json.loads, open(sys.argv[2]))}
rss_mb, n = int(sys.argv[3]) / 1024, int(sys.argv[4])
fill, peak_mb, files, disk_mb = float(sys.argv[5]), int(sys.argv[6]) / 1024, int(sys.argv[7]), int(sys.argv[8])
print(f"fill: {n} events in {fill:.0f} s ({n / fill:,.0f} events/s through the ingestion API), peak RSS {peak_mb:.0f} MB")
print(f"history on disk: {files} Parquet files, {disk_mb} MB with their indexes; restart until serving: {sys.argv[9]} ms")
print(f"LookupEvents benchmark: {n} events over 80 days; first page of 50, newest first; one client")
print(f"{'attribute':14} {'cairn p50':>10} {'cairn p99':>10} {'duckdb p50':>11} {'duckdb p99':>11} {'p99 ratio':>10} {'rows':>5}")
for k, c in cairn.items():
    d = duck[k]
    print(f"{k:14} {c['p50_ms']:10.2f} {c['p99_ms']:10.2f} {d['p50_ms']:11.2f} {d['p99_ms']:11.2f} {d['p99_ms'] / max(c['p99_ms'], 1e-9):9.1f}x {d['rows']:5}")
if any(c["requests"] == 0 for c in cairn.values()) or any(c["errors"] for c in cairn.values()):
    sys.exit("cairn answered no lookups or failed some: see cairn.log in the work directory (KEEP_WORK=1 keeps it)")
print(f"errors: {sum(c['errors'] for c in cairn.values())}; goal: cairn p99 <= 20 ms per page at 10,000,000 events")
print(f"cairn resident memory, idle with {n} events: {rss_mb:.0f} MB (goal: <= 200 MB at 10,000,000)")
PY
