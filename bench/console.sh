#!/usr/bin/env bash
# Benchmark for the console (issue 14): how fast its first page is interactive on loopback (goal: within 1 s), how
# long an event history page of 50 takes to render once LookupEvents has answered (goal: within 200 ms), and how long
# event history's CSV download of all EVENTS events takes, in Debian's Chromium driven by Playwright against a
# release cairn holding EVENTS ingested events. Baselines in the same run: the same page with its script blocked (the
# browser's and server's floor for the page), the same 50 rows written as one HTML string into the same page (the
# DOM's floor), and `cairn lookup --output json` fetching the same events through the same API (a native client).
# Environment: EVENTS (200000), RUNS (20), BENCH_DIR. Needs scripts/console-deps.sh (Chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
EVENTS=${EVENTS:-200000}
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
# EVENTS realistic records into us-east-1's event history (the generator spreads its records over three regions, so
# three times as many are sent), 100 a request over 8 seconds, then until history has them all.
"$loadgen" ingest --endpoint "$CAIRN_ENDPOINT" --access-key-id "$PRODUCER_AKID" --secret-access-key "$PRODUCER_SECRET" \
  --records-per-request 100 --concurrency 4 --rate "$(( EVENTS * 3 / 100 / 8 ))" --duration 8 --warmup 0 > /dev/null
export AWS_ACCESS_KEY_ID=$PRODUCER_AKID AWS_SECRET_ACCESS_KEY=$PRODUCER_SECRET AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
count() { "$cairn" lookup --endpoint "$CAIRN_ENDPOINT" --max-events "$1" --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Events"]))'; }
# Until event history has read the whole journal.
python3 - "$CAIRN_ENDPOINT/metrics" <<'PY'
import sys, time, urllib.request
for _ in range(600):
    text = urllib.request.urlopen(sys.argv[1]).read().decode()
    value = lambda prefix: max([float(l.split()[-1]) for l in text.splitlines() if l.startswith(prefix)] or [0])
    if value('cairn_consumer_position_records{consumer="history"}') >= value("cairn_journal_committed_records"):
        break
    time.sleep(1)
PY
# The native client's time for the events the download fetches.
start=$(date +%s.%N)
native=$(count "$EVENTS")
native_s=$(python3 -c "import time; print(time.time() - $start)")
cd crates/cairn-console/web
node ../../../bench/console.mjs "$CAIRN_ENDPOINT" "$PRODUCER_AKID" "$PRODUCER_SECRET" "$RUNS" "$native" "$native_s"
