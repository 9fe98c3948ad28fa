#!/usr/bin/env bash
# Benchmark for Lake imports (issue 12): `cairn import` of a copy of a busy trail's bucket (GZIP_MIB MiB of gzip log
# files in AWS's layout, 2048 by default: the issue's "at least 2 GB"), against, in the same run, DuckDB's read_json
# with unnest(Records) into a table over the same files, and the floor: reading, decompressing and parsing the same
# files and nothing else. All three on THREADS threads (2). Prints times, events per second and the ratios.
# Environment: GZIP_MIB, THREADS, BENCH_DIR (/tmp), ARCHIVE_DIR (reuse a generated archive), DUCKDB_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
GZIP_MIB=${GZIP_MIB:-2048}
THREADS=${THREADS:-2}
DUCKDB_VERSION=${DUCKDB_VERSION:-1.4.2}

cargo build --release -p cairn -p cairn-loadgen >&2
cairn="$CARGO_TARGET_DIR/release/cairn"
loadgen="$CARGO_TARGET_DIR/release/cairn-loadgen"
source bench/lib.sh
bench_venv_with_duckdb "$DUCKDB_VERSION"

work=$(mktemp -d "${BENCH_DIR:-/tmp}/cairn-import-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
archive=${ARCHIVE_DIR:-$work/archive}
if [ ! -d "$archive/AWSLogs" ]; then
  echo "writing $GZIP_MIB MiB of gzip log files into $archive" >&2
  "$loadgen" archive --dir "$archive" --gzip-mib "$GZIP_MIB" --threads "$THREADS" > "$work/archive.json"
else
  echo "{}" > "$work/archive.json"
fi
gzip_bytes=$(du -sb "$archive" | cut -f1)
sync; echo "reading the archive once so that all three runs find it in the page cache" >&2
find "$archive" -name '*.json.gz' -print0 | xargs -0 cat > /dev/null

floor=$("$loadgen" parse-floor --dir "$archive" --threads "$THREADS")
start=$(date +%s.%N)
"$cairn" import "$archive" --store-dir "$work/store" --threads "$THREADS" > "$work/cairn.out"
end=$(date +%s.%N)
cairn_events=$(grep -o 'imported [0-9]*' "$work/cairn.out" | awk '{print $2}')
sync
duck=$("$venv/bin/python" bench/import_duckdb.py "$archive" "$work/duck.db" "$THREADS")

python3 - "$floor" "$duck" "$cairn_events" "$start" "$end" "$gzip_bytes" "$(du -sb "$work/store" | cut -f1)" "$(du -sb "$work/duck.db" | cut -f1)" <<'PY'
import json, sys
floor, duck = json.loads(sys.argv[1]), json.loads(sys.argv[2])
events, start, end, gz, store, db = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
cairn = end - start
assert events == floor["records"] == duck["records"], (events, floor, duck)
print(f"archive: {gz / 2**20:.0f} MiB gzip, {events} events")
print(f"{'':10} {'seconds':>8} {'events/s':>10} {'MiB gz/s':>9} {'on disk MiB':>12}")
for name, s, size in (("floor", floor["seconds"], None), ("cairn", cairn, store), ("duckdb", duck["seconds"], db)):
    disk = f"{size / 2**20:12.0f}" if size else f"{'':12}"
    print(f"{name:10} {s:8.2f} {events / s:10.0f} {gz / 2**20 / s:9.1f} {disk}")
print(f"cairn speed-up over DuckDB: {duck['seconds'] / cairn:.2f}x (goal: at least 2x)")
print(f"cairn time / floor time: {cairn / floor['seconds']:.2f}")
PY
