#!/usr/bin/env bash
# Benchmark for the control plane (issue 2), cairn side by side with moto_server (the mock most users reach for),
# on the same machine, driven by the same load generator (crates/cairn-loadgen) in one run:
#   1. start-up: time from spawning the server to its first answered (signed) DescribeTrails, median of $RUNS;
#      cairn on an empty and on a populated data directory;
#   2. sustained DescribeTrails throughput and latency percentiles at $CONCURRENCY concurrent clients.
# Prints each figure and the cairn/moto ratios. Environment: RUNS (5), DURATION seconds (10), CONCURRENCY (16).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-16}
MOTO_VERSION=${MOTO_VERSION:-5.2.5}
venv="${CAIRN_BENCH_VENV:-$HOME/.cache/cairn-bench-venv}"

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "awscli==1.46.3"
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

source bench/lib.sh
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

startup_ms() { # startup_ms <port> <command...>
  local port=$1; shift
  "$loadgen" startup --endpoint "http://127.0.0.1:$port" -- "$@" | field startup_ms
}

# A populated data directory: trails in every region the dev account can hold (5 per region), with tags.
populated="$work/populated"
mkdir -p "$populated/buckets/bench-bucket"
port=$(free_port)
"$cairn" serve --listen "127.0.0.1:$port" --data-dir "$populated" > /dev/null 2>&1 &
setup_pid=$!
wait_port "$port"
n=0
for region in us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-2 eu-west-3 eu-central-1 eu-north-1 \
  ap-south-1 ap-northeast-1 ap-northeast-2 ap-southeast-1 ap-southeast-2 sa-east-1 ca-central-1; do
  for i in 1 2 3 4 5; do
    "$loadgen" call --endpoint "http://127.0.0.1:$port" --region "$region" --operation CreateTrail \
      --body "{\"Name\":\"trail-$region-$i\",\"S3BucketName\":\"bench-bucket\",\"TagsList\":[{\"Key\":\"team\",\"Value\":\"audit\"}]}" > /dev/null
    n=$((n + 1))
  done
done
kill -TERM "$setup_pid"; wait "$setup_pid" || true
echo "populated data directory: $n trails" >&2

echo "measuring start-up ($RUNS runs each)" >&2
cairn_empty=(); cairn_full=(); moto_start=()
for i in $(seq "$RUNS"); do
  port=$(free_port)
  cairn_empty+=("$(startup_ms "$port" "$cairn" serve --listen "127.0.0.1:$port" --data-dir "$work/empty-$i")")
  port=$(free_port)
  cairn_full+=("$(startup_ms "$port" "$cairn" serve --listen "127.0.0.1:$port" --data-dir "$populated")")
  port=$(free_port)
  moto_start+=("$(startup_ms "$port" "$venv/bin/moto_server" -p "$port")")
done

run_load() { # run_load <endpoint>
  "$loadgen" run --endpoint "$1" --operation DescribeTrails --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 2
}

echo "measuring DescribeTrails load ($CONCURRENCY clients, ${DURATION}s each)" >&2
port=$(free_port)
mkdir -p "$work/load/buckets/bench-bucket"
"$cairn" serve --listen "127.0.0.1:$port" --data-dir "$work/load" > /dev/null 2>&1 &
pids+=($!)
wait_port "$port"
"$loadgen" call --endpoint "http://127.0.0.1:$port" --operation CreateTrail --body '{"Name":"bench-trail","S3BucketName":"bench-bucket"}' > /dev/null
cairn_load=$(run_load "http://127.0.0.1:$port")
kill -TERM "${pids[-1]}"

port=$(free_port)
"$venv/bin/moto_server" -p "$port" > /dev/null 2>&1 &
pids+=($!)
wait_port "$port"
AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
  "$venv/bin/aws" --endpoint-url "http://127.0.0.1:$port" s3api create-bucket --bucket bench-bucket > /dev/null
"$loadgen" call --endpoint "http://127.0.0.1:$port" --operation CreateTrail --body '{"Name":"bench-trail","S3BucketName":"bench-bucket"}' > /dev/null
moto_load=$(run_load "http://127.0.0.1:$port")
kill "${pids[-1]}"

python3 - "$(median "${cairn_empty[@]}")" "$(median "${cairn_full[@]}")" "$(median "${moto_start[@]}")" "$cairn_load" "$moto_load" "$n" <<'PY'
import json, sys
ce, cf, ms = map(float, sys.argv[1:4])
cl, ml = json.loads(sys.argv[4]), json.loads(sys.argv[5])
n = sys.argv[6]
print("control plane benchmark: cairn vs moto_server, same machine, same load generator")
print(f"{'figure':52} {'cairn':>12} {'moto':>12} {'ratio':>10}")
print(f"{'start-up to first answer, empty data dir (ms, median)':52} {ce:12.1f} {ms:12.1f} {ms/ce:9.1f}x")
print(f"{'start-up to first answer, ' + n + ' trails (ms, median)':52} {cf:12.1f} {ms:12.1f} {ms/cf:9.1f}x")
print(f"{'DescribeTrails throughput, %d clients (req/s)' % cl['concurrency']:52} {cl['throughput_rps']:12.0f} {ml['throughput_rps']:12.0f} {cl['throughput_rps']/ml['throughput_rps']:9.1f}x")
for p in ("p50_ms", "p99_ms"):
    print(f"{'DescribeTrails latency ' + p.split('_')[0] + ' (ms)':52} {cl[p]:12.2f} {ml[p]:12.2f} {ml[p]/max(cl[p],1e-9):9.1f}x")
print(f"{'errors during load':52} {cl['errors']:12d} {ml['errors']:12d}")
print("goals: start-up >= 10x faster, throughput >= 20x higher")
PY
