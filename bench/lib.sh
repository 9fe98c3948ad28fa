# Helpers shared by the benchmark scripts (sourced, not run).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 400); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1))" 2>/dev/null && return
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  exit 1
}

# The producer credential the ingestion and lookup benchmarks use, granted account 111111111111.
PRODUCER_AKID=AKIAPRODUCER00000001
PRODUCER_SECRET=producer-secret-000000000000000000000

# start_producer_cairn <cairn binary> <work dir> [extra TOML]: starts cairn with the producer credential on a free
# port; sets CAIRN_PID and CAIRN_ENDPOINT.
start_producer_cairn() {
  cat > "$2/cairn.toml" <<TOML
data_dir = "$2/data"
[[accounts]]
id = "111111111111"
[[accounts.credentials]]
access_key_id = "$PRODUCER_AKID"
secret_access_key = "$PRODUCER_SECRET"
principal = "role/producer"
ingest_accounts = ["111111111111"]
${3:-}
TOML
  local port
  port=$(free_port)
  "$1" serve --config "$2/cairn.toml" --listen "127.0.0.1:$port" >> "$2/cairn.log" 2>&1 &
  CAIRN_PID=$!
  wait_port "$port"
  CAIRN_ENDPOINT="http://127.0.0.1:$port"
}

# Trail delivery figures of the cairn at $CAIRN_ENDPOINT, from /metrics.
metric_sum() { # metric_sum <metric name>: the sum over trails
  python3 - "$CAIRN_ENDPOINT/metrics" "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1]).read().decode()
print(int(sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(sys.argv[2] + "{"))))
PY
}
# wait_delivered: until every trail's lag is zero; prints the seconds waited.
wait_delivered() {
  python3 - "$CAIRN_ENDPOINT/metrics" <<'PY'
import sys, time, urllib.request
start = time.time()
while True:
    text = urllib.request.urlopen(sys.argv[1]).read().decode()
    lags = [float(l.split()[-1]) for l in text.splitlines() if l.startswith("cairn_trail_delivery_lag_records{")]
    if lags and max(lags) == 0:
        break
    if time.time() - start > 600:
        sys.exit("delivery did not catch up in 600 s")
    time.sleep(0.2)
print(f"{time.time() - start:.2f}")
PY
}

# bench_venv_with_duckdb <version>: the benchmarks' Python venv (CAIRN_BENCH_VENV, default
# ~/.cache/cairn-bench-venv) with that DuckDB installed; sets venv.
bench_venv_with_duckdb() {
  venv="${CAIRN_BENCH_VENV:-$HOME/.cache/cairn-bench-venv}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$1')" 2>/dev/null ||
    "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$1"
}
