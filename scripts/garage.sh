#!/usr/bin/env bash
# Starts a single-node Garage (an S3-compatible object store) on loopback for the tests, with cairn's key and the
# buckets the tests use, and prints the CAIRN_TEST_S3_* variables pointing at it (eval them). Garage is installed
# from crates.io into ~/.cache/garage the first time (about 8 minutes), then reused.
#
#   eval "$(bash scripts/garage.sh start <work-dir>)"   # starts Garage, prints exports (and the pid to stop)
#   bash scripts/garage.sh stop <work-dir>
set -euo pipefail

garage_version="2.5.0"
root="${CAIRN_GARAGE_ROOT:-$HOME/.cache/garage}"
garage="$root/bin/garage"
cmd="${1:?start or stop}"
work="${2:?work directory}"

if [ "$cmd" = stop ]; then
  if [ -f "$work/garage.pid" ]; then
    kill "$(cat "$work/garage.pid")" 2>/dev/null || true
    rm -f "$work/garage.pid"
  fi
  exit 0
fi

if ! "$garage" --version 2>/dev/null | grep -qE "(v|:)$garage_version( |$)"; then
  echo "installing garage $garage_version into $root (first time only)" >&2
  # In a temporary target directory of its own (removed afterwards), apart from cairn's builds.
  env -u CARGO_TARGET_DIR cargo install garage --version "$garage_version" --locked --root "$root" >&2
fi

mkdir -p "$work/meta" "$work/data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port=$(free_port)
rpc_port=$(free_port)
cat > "$work/garage.toml" <<TOML
metadata_dir = "$work/meta"
data_dir = "$work/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"
TOML
g() { "$garage" -c "$work/garage.toml" "$@"; }
RUST_LOG=warn "$garage" -c "$work/garage.toml" server > "$work/garage.log" 2>&1 &
echo $! > "$work/garage.pid"
for _ in $(seq 1 100); do
  if g status > /dev/null 2>&1; then break; fi
  sleep 0.1
done
node=$(g node id -q 2>/dev/null | cut -d@ -f1)
g layout assign -z dc1 -c 1G "$node" > /dev/null
g layout apply --version 1 > /dev/null
key_id="GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
g key import --yes -n cairn-tests "$key_id" "$secret" > /dev/null
for bucket in cairn-trails cairn-other; do
  g bucket create "$bucket" > /dev/null
  g bucket allow --read --write --owner "$bucket" --key cairn-tests > /dev/null
done
cat <<ENV
export CAIRN_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export CAIRN_TEST_S3_REGION=garage
export CAIRN_TEST_S3_ACCESS_KEY_ID=$key_id
export CAIRN_TEST_S3_SECRET_ACCESS_KEY=$secret
export CAIRN_TEST_S3_BUCKET=cairn-trails
export CAIRN_TEST_GARAGE="$garage -c $work/garage.toml"
ENV
