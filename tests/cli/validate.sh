#!/usr/bin/env bash
# Scenario: log file validation. The real `aws cloudtrail validate-logs` and `cairn validate-logs` check the digests
# and log files a validating trail delivered, to cairn's own bucket and to an S3-compatible server (Garage); then the
# files are tampered with, one way at a time, and both validators must print the same lines and exit 1.
# Usage: tests/cli/validate.sh <cairn binary> <aws cli>   (CAIRN_TEST_S3_* name the Garage, as scripts/test sets)
set -euo pipefail
cairn=${1:?usage: validate.sh <cairn binary> <aws cli>}
aws=${2:?usage: validate.sh <cairn binary> <aws cli>}
: "${CAIRN_TEST_S3_ENDPOINT:?set CAIRN_TEST_S3_* (scripts/test starts Garage and sets them)}"

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
step() { echo "--- $*" >&2; }
source "$(dirname "$0")/lib.sh"

# cairn's account has a second key pair equal to Garage's, so one credential serves CloudTrail (cairn) and S3
# (Garage), as the AWS CLI needs.
config() { # config <data dir> <storage section>
  cat <<TOML
data_dir = "$1"
[[accounts]]
id = "111111111111"
[[accounts.credentials]]
access_key_id = "AKIAMGMT000000000001"
secret_access_key = "mgmt-secret-000000000000000000000000000"
principal = "user/admin"
[[accounts.credentials]]
access_key_id = "$CAIRN_TEST_S3_ACCESS_KEY_ID"
secret_access_key = "$CAIRN_TEST_S3_SECRET_ACCESS_KEY"
principal = "user/auditor"
$2
[delivery]
window_seconds = 1
digest_interval_seconds = 2
TOML
}

start_cairn() { # start_cairn <config file>
  "$cairn" serve --config "$1" --listen 127.0.0.1:0 > "$work/stdout" 2> "$work/stderr" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/stdout" 2>/dev/null && break; sleep 0.05; done
  endpoint=$(grep -o 'http://[0-9.:]*' "$work/stdout")
  export AWS_ENDPOINT_URL="$endpoint"
}

stop_cairn() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

export AWS_ACCESS_KEY_ID=AKIAMGMT000000000001 AWS_SECRET_ACCESS_KEY=mgmt-secret-000000000000000000000000000
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""


# A validating multi-region trail, some calls in two regions, digests for a few periods, then StopLogging (its final
# digests end the chains, so nothing changes while the files are tampered with).
deliver() { # deliver <trail> <bucket> [create-trail options...]
  local trail=$1 bucket=$2; shift 2
  "$aws" cloudtrail create-trail --name "$trail" --s3-bucket-name "$bucket" --is-multi-region-trail \
    --enable-log-file-validation "$@" > /dev/null
  "$aws" cloudtrail start-logging --name "$trail"
  for _ in 1 2 3; do
    for region in us-east-1 eu-west-1; do "$aws" cloudtrail describe-trails --region "$region" > /dev/null; done
    sleep 2
  done
  sleep 2
  "$aws" cloudtrail stop-logging --name "$trail"
  settled "$trail"
}

# Runs both validators; both must exit <code> and print the same lines on the same streams.
both() { # both <code> <trail arn> [validate-logs options...]
  local want=$1 arn=$2; shift 2
  local args=(--trail-arn "$arn" --start-time "$from" --end-time "$to" --verbose "$@")
  set +e
  "$aws" cloudtrail validate-logs "${args[@]}" > "$work/aws.out" 2> "$work/aws.err"; local a=$?
  "$cairn" validate-logs "${args[@]}" > "$work/cairn.out" 2> "$work/cairn.err"; local c=$?
  set -e
  if [ "$a" != "$want" ] || [ "$c" != "$want" ]; then
    echo "exit codes: aws $a, cairn $c, expected $want" >&2
    cat "$work/aws.out" "$work/aws.err" "$work/cairn.out" "$work/cairn.err" >&2
    exit 1
  fi
  diff "$work/aws.out" "$work/cairn.out" >&2 || { echo "stdout differs" >&2; exit 1; }
  diff "$work/aws.err" "$work/cairn.err" >&2 || { echo "stderr differs" >&2; exit 1; }
}

expect_line() { # expect_line <stream file> <text>
  grep -qF -- "$2" "$1" || { echo "expected \"$2\" in $(basename "$1"): $(cat "$1")" >&2; exit 1; }
}

from=$(date -u +%Y-%m-%dT%H:%M:%SZ -d '-1 minute')
to=$(date -u +%Y-%m-%dT%H:%M:%SZ -d '+10 minutes')

step "a trail delivering to cairn's own bucket: both validators find everything valid"
config "$work/data" $'[storage]\nkind = "local"\nbuckets = []' > "$work/local.toml"
start_cairn "$work/local.toml"
"$aws" s3 mb s3://validated-logs > /dev/null
"$cairn" trail-bucket validated-logs --trail checked-trail > /dev/null 2>&1
deliver checked-trail validated-logs
arn=arn:aws:cloudtrail:us-east-1:111111111111:trail/checked-trail
both 0 "$arn"
expect_line "$work/cairn.out" "digest files valid"
grep -q "^Log file" "$work/cairn.out" || { echo "no log file was validated" >&2; exit 1; }
both 0 "$arn" --region eu-west-1
expect_line "$work/cairn.out" "/CloudTrail-Digest/eu-west-1/"
"$cairn" validate-logs --trail-arn "$arn" --start-time "$from" --end-time "$to" --output json > "$work/report.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["valid"] and r["summary"]["invalidLogFiles"] == 0 and r["summary"]["validLogFiles"] > 0, r' "$work/report.json"

# The files of the us-east-1 chain, oldest first.
"$aws" s3 ls --recursive s3://validated-logs/AWSLogs/111111111111/ | awk '{print $4}' > "$work/keys"
grep "/CloudTrail/us-east-1/" "$work/keys" | head -1 > "$work/log-key"
grep "/CloudTrail-Digest/us-east-1/" "$work/keys" | sort > "$work/digest-keys"
log=$(cat "$work/log-key")
digest=$(sed -n 2p "$work/digest-keys")
[ -n "$log" ] && [ "$(wc -l < "$work/digest-keys")" -ge 3 ] || { echo "too few files: $(cat "$work/keys")" >&2; exit 1; }
"$aws" s3 cp "s3://validated-logs/$log" "$work/log.gz" > /dev/null
"$aws" s3 cp "s3://validated-logs/$digest" "$work/digest.gz" > /dev/null
signature=$("$aws" s3api head-object --bucket validated-logs --key "$digest" --query Metadata.signature --output text)
step "per-event proofs: every digest's event tree checks, and one event's proof verifies independently"
"$cairn" validate-logs --trail-arn "$arn" --start-time "$from" --end-time "$to" --events > "$work/events.out"
expect_line "$work/events.out" "event trees valid"
grep -q "INVALID" "$work/events.out" && { echo "an event tree is INVALID: $(cat "$work/events.out")" >&2; exit 1; }
event_id=$(python3 -c 'import gzip,json,sys; print(json.load(gzip.open(sys.argv[1]))["Records"][-1]["eventID"])' "$work/log.gz")
"$cairn" prove "$event_id" --trail-arn "$arn" --start-time "$from" --end-time "$to" > "$work/prove.out"
expect_line "$work/prove.out" "proof verified"
"$cairn" prove "$event_id" --trail-arn "$arn" --start-time "$from" --end-time "$to" --output json > "$work/proof.json"
"$aws" s3 cp "s3://validated-logs/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"]["s3Object"])' "$work/proof.json")" "$work/proof-digest.gz" > /dev/null
# An RFC 9162 verifier of its own: the leaf is the record's bytes in the log file, the root the signed digest's.
python3 - "$work/proof.json" "$work/log.gz" "$work/proof-digest.gz" <<'PY'
import gzip, hashlib, json, sys
proof = json.load(open(sys.argv[1]))
raw = gzip.open(sys.argv[2]).read().decode()
digest = json.loads(gzip.open(sys.argv[3]).read())
assert digest["cairnEventTree"]["rootHash"] == proof["rootHash"] and digest["cairnEventTree"]["treeSize"] == proof["treeSize"]
assert any(r["eventID"] == proof["eventId"] for r in json.loads(raw)["Records"])
body = raw[len('{"Records":['):-2]
# Records are written byte for byte: find this one's exact bytes by walking the array with a raw decoder.
dec, pos, found = json.JSONDecoder(), 0, None
while pos < len(body):
    obj, end = dec.raw_decode(body, pos)
    if obj["eventID"] == proof["eventId"]:
        found = body[pos:end]
    pos = end + 1
leaf = hashlib.sha256(b"\0" + found.encode()).digest()
assert leaf.hex() == proof["leafHash"], "leaf hash"
node = lambda l, r: hashlib.sha256(b"\1" + l + r).digest()
fn, sn, r = proof["leafIndex"], proof["treeSize"] - 1, leaf
for p in map(bytes.fromhex, proof["auditPath"]):
    assert sn > 0
    if fn & 1 or fn == sn:
        r = node(p, r)
        if not fn & 1:
            while not fn & 1 and fn:
                fn >>= 1; sn >>= 1
    else:
        r = node(r, p)
    fn >>= 1; sn >>= 1
assert sn == 0 and r.hex() == proof["rootHash"], "inclusion proof"
PY

restore() {
  "$aws" s3 cp "$work/log.gz" "s3://validated-logs/$log" > /dev/null
  "$aws" s3api put-object --bucket validated-logs --key "$digest" --body "$work/digest.gz" \
    --metadata "signature=$signature,signature-algorithm=SHA256withRSA" > /dev/null
  both 0 "$arn"
}

step "tampering: one byte of a log file changed"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=0x55; open(sys.argv[2],"wb").write(b)' "$work/log.gz" "$work/bad.gz"
"$aws" s3 cp "$work/bad.gz" "s3://validated-logs/$log" > /dev/null
both 1 "$arn"
grep -E "^Log file	s3://validated-logs/$log	INVALID: (hash value doesn't match|invalid format)$" "$work/cairn.err" > /dev/null \
  || { echo "the changed log file is not reported: $(cat "$work/cairn.err")" >&2; exit 1; }
restore

step "tampering: bytes after a log file's gzip stream"
cat "$work/log.gz" > "$work/bad.gz"; printf 'appended' >> "$work/bad.gz"
"$aws" s3 cp "$work/bad.gz" "s3://validated-logs/$log" > /dev/null
both 1 "$arn"
expect_line "$work/cairn.err" "Log file	s3://validated-logs/$log	INVALID: unexpected data after end of compressed stream"
restore

step "tampering: a log file deleted"
"$aws" s3 rm "s3://validated-logs/$log" > /dev/null
both 1 "$arn"
expect_line "$work/cairn.err" "Log file	s3://validated-logs/$log	INVALID: not found"
restore

step "tampering: a digest changed (its signature kept)"
python3 - "$work/digest.gz" "$work/bad.gz" <<'PY'
import gzip, json, sys
d = json.loads(gzip.decompress(open(sys.argv[1], "rb").read()))
d["digestStartTime"] = "2000-01-01T00:00:00Z"
open(sys.argv[2], "wb").write(gzip.compress(json.dumps(d).encode()))
PY
"$aws" s3api put-object --bucket validated-logs --key "$digest" --body "$work/bad.gz" \
  --metadata "signature=$signature,signature-algorithm=SHA256withRSA" > /dev/null
both 1 "$arn"
expect_line "$work/cairn.err" "Digest file	s3://validated-logs/$digest	INVALID: signature verification failed"
restore

step "tampering: a digest deleted"
"$aws" s3 rm "s3://validated-logs/$digest" > /dev/null
both 1 "$arn"
expect_line "$work/cairn.err" "Digest file	s3://validated-logs/$digest	INVALID: not found"
restore

step "tampering: a digest copied to another key"
# Named as a digest newer than every other (the end of the range), in the newest digest's folder.
last=$(tail -1 "$work/digest-keys")
moved="${last%????????????????.json.gz}$(date -u -d "$to" +%Y%m%dT%H%M%SZ).json.gz"
"$aws" s3 cp "s3://validated-logs/$digest" "s3://validated-logs/$moved" > /dev/null
both 1 "$arn"
expect_line "$work/cairn.err" "Digest file	s3://validated-logs/$moved	INVALID: has been moved from its original location"
"$aws" s3 rm "s3://validated-logs/$moved" > /dev/null
both 0 "$arn"

step "tampering: the region's public key replaced"
stop_cairn
us_key=$(ls "$work/data/signing-keys/us-east-1/"*.der)
cp "$us_key" "$work/us-east-1.der"
cp "$(ls "$work/data/signing-keys/eu-west-1/"*.der | head -1)" "$us_key"
start_cairn "$work/local.toml"
both 1 "$arn"
expect_line "$work/cairn.err" "INVALID: public key not found in region us-east-1 for fingerprint"
stop_cairn
cp "$work/us-east-1.der" "$us_key"

step "SIGKILL while a trail delivers: the chain continues from the last delivered digest, no gap, no fork"
start_cairn "$work/local.toml"
"$aws" s3 mb s3://crash-logs > /dev/null
"$cairn" trail-bucket crash-logs --trail crash-trail > /dev/null 2>&1
"$aws" cloudtrail create-trail --name crash-trail --s3-bucket-name crash-logs --enable-log-file-validation > /dev/null
"$aws" cloudtrail start-logging --name crash-trail
for _ in 1 2 3; do "$aws" cloudtrail describe-trails > /dev/null; sleep 1; done
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
start_cairn "$work/local.toml"
for _ in 1 2 3; do "$aws" cloudtrail describe-trails > /dev/null; sleep 1; done
sleep 2
"$aws" cloudtrail stop-logging --name crash-trail
settled crash-trail
both 0 arn:aws:cloudtrail:us-east-1:111111111111:trail/crash-trail
[ ! -s "$work/cairn.err" ] || { echo "a gap or an invalid file after SIGKILL: $(cat "$work/cairn.err")" >&2; exit 1; }
python3 - "$work/cairn.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
digests = re.findall(r"^Digest file\t(\S+)\tvalid$", text, re.M)
logs = re.findall(r"^Log file\t(\S+)\tvalid$", text, re.M)
assert len(digests) >= 4 and len(logs) >= 2, text
assert len(set(logs)) == len(logs), "a log file listed in two digests"
PY
stop_cairn

step "on-demand key rotation; offline: a local copy (aws s3 sync) and the public keys (aws cloudtrail list-public-keys)"
start_cairn "$work/local.toml"
# An on-demand rotation while cairn runs: the old key stays listed for what it signed, the new one signs from now.
"$cairn" rotate-signing-key --config "$work/local.toml" --region us-east-1 > /dev/null
out=$("$aws" cloudtrail list-public-keys --start-time "$from" --end-time "$to")
python3 -c 'import json,sys; k=json.loads(sys.argv[1])["PublicKeyList"]; assert len(k) == 2 and k[0]["ValidityStartTime"] > k[1]["ValidityStartTime"], k' "$out"
both 0 "$arn"
"$aws" s3 sync s3://validated-logs "$work/copy" > /dev/null
"$aws" cloudtrail list-public-keys --start-time "$from" --end-time "$to" > "$work/keys.json"
stop_cairn
offline=(--trail-arn "$arn" --start-time "$from" --end-time "$to" --s3-bucket validated-logs --local-dir "$work/copy"
  --public-keys "$work/keys.json")
# The newest digest's signature was only in its object metadata: UNVERIFIED, which fails unless accepted.
set +e
"$cairn" validate-logs "${offline[@]}" > "$work/offline.out" 2> "$work/offline.err"
code=$?
set -e
[ "$code" = 1 ] || { echo "an unverifiable digest passed offline ($code)" >&2; exit 1; }
expect_line "$work/offline.err" "UNVERIFIED"
set +e
"$cairn" validate-logs "${offline[@]}" --allow-unverified --verbose > "$work/offline.out" 2> "$work/offline.err"
code=$?
set -e
[ "$code" = 0 ] || { echo "offline validation failed ($code): $(cat "$work/offline.out" "$work/offline.err")" >&2; exit 1; }
expect_line "$work/offline.out" "log files valid"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=0x55; open(sys.argv[1],"wb").write(b)' "$work/copy/$log"
set +e
"$cairn" validate-logs "${offline[@]}" --allow-unverified > "$work/offline.out" 2> "$work/offline.err"
code=$?
set -e
[ "$code" = 1 ] || { echo "offline validation missed a changed file ($code)" >&2; exit 1; }
expect_line "$work/offline.err" "Log file	s3://validated-logs/$log	INVALID"

step "a trail delivering to Garage: both validators find everything valid"
config "$work/data-s3" "[storage]
kind = \"s3\"
endpoint = \"$CAIRN_TEST_S3_ENDPOINT\"
region = \"$CAIRN_TEST_S3_REGION\"
access_key_id = \"$CAIRN_TEST_S3_ACCESS_KEY_ID\"
secret_access_key = \"$CAIRN_TEST_S3_SECRET_ACCESS_KEY\"" > "$work/s3.toml"
start_cairn "$work/s3.toml"
prefix="validate-$$-$RANDOM"
deliver garage-trail "$CAIRN_TEST_S3_BUCKET" --s3-key-prefix "$prefix"
export AWS_ACCESS_KEY_ID=$CAIRN_TEST_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$CAIRN_TEST_S3_SECRET_ACCESS_KEY
export AWS_ENDPOINT_URL_S3=$CAIRN_TEST_S3_ENDPOINT AWS_ENDPOINT_URL_CLOUDTRAIL=$AWS_ENDPOINT_URL
unset AWS_ENDPOINT_URL
both 0 arn:aws:cloudtrail:us-east-1:111111111111:trail/garage-trail
grep -q "^Log file	s3://$CAIRN_TEST_S3_BUCKET/$prefix/" "$work/cairn.out" || { echo "no Garage log file validated" >&2; exit 1; }
export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL_CLOUDTRAIL
stop_cairn
echo "validation scenario passed" >&2
