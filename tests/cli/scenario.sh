#!/usr/bin/env bash
# Scenario: the commands of AWS's CloudTrail tutorials, run with the real AWS CLI against `cairn serve`.
# Usage: tests/cli/scenario.sh <cairn binary> <aws cli>
set -euo pipefail
cairn=${1:?usage: scenario.sh <cairn binary> <aws cli>}
aws=${2:?usage: scenario.sh <cairn binary> <aws cli>}

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/cairn.toml" <<TOML
data_dir = "$work/data"
[[accounts]]
id = "111111111111"
[[accounts.credentials]]
access_key_id = "AKIAMGMT000000000001"
secret_access_key = "mgmt-secret-000000000000000000000000000"
principal = "user/admin"
[[accounts]]
id = "123456789012"
[[accounts.credentials]]
access_key_id = "AKIAMEMB000000000002"
secret_access_key = "member-secret-0000000000000000000000000"
[organization]
id = "o-a1b2c3d4e5"
management_account = "111111111111"
member_accounts = ["123456789012"]
[storage]
kind = "local"
buckets = ["amzn-s3-demo-bucket"]
[delivery]
window_seconds = 1
digest_interval_seconds = 2
TOML

scenario_start=$(date -u +%Y-%m-%dT%H:%M:%SZ -d '-1 minute')
"$cairn" serve --config "$work/cairn.toml" --listen 127.0.0.1:0 > "$work/stdout" 2> "$work/stderr" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/stdout" 2>/dev/null && break; sleep 0.05; done
endpoint=$(grep -o 'http://[0-9.:]*' "$work/stdout")

export AWS_ACCESS_KEY_ID=AKIAMGMT000000000001 AWS_SECRET_ACCESS_KEY=mgmt-secret-000000000000000000000000000
export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$endpoint" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""

step() { echo "--- $*" >&2; }
wait_query() { # wait_query <query id>: until the Lake query has FINISHED (10 s at most)
  for _ in $(seq 100); do
    [ "$("$aws" cloudtrail describe-query --query-id "$1" --query QueryStatus --output text)" = FINISHED ] && return
    sleep 0.1
  done
}
source "$(dirname "$0")/lib.sh"
check() { # check <json> <python expression over j>
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert eval(sys.argv[2]), (sys.argv[2], str(j)[:2000])' "$1" "$2"
}
fails_with() { # fails_with <code> <command...>
  local want=$1; shift
  if "$@" > "$work/out" 2> "$work/err"; then echo "expected $want from: $*" >&2; exit 1; fi
  grep -q "($want)" "$work/err" || { echo "expected $want, got: $(cat "$work/err")" >&2; exit 1; }
}

step sts
out=$("$aws" sts get-caller-identity)
check "$out" 'j["Account"] == "111111111111" and j["Arn"].startswith("arn:aws:iam::111111111111:") and j["UserId"]'
fails_with InvalidAction "$aws" sts get-session-token

step create-trail
out=$("$aws" cloudtrail create-trail --name my-trail --s3-bucket-name amzn-s3-demo-bucket --is-multi-region-trail)
check "$out" 'j["TrailARN"] == "arn:aws:cloudtrail:us-east-1:111111111111:trail/my-trail" and j["IsMultiRegionTrail"] and j["IncludeGlobalServiceEvents"]'

step describe-trails
out=$("$aws" cloudtrail describe-trails)
check "$out" 'len(j["trailList"]) == 1 and j["trailList"][0]["HomeRegion"] == "us-east-1" and j["trailList"][0]["HasCustomEventSelectors"] is False'
out=$("$aws" cloudtrail describe-trails --region eu-west-1)
check "$out" 'j["trailList"][0]["Name"] == "my-trail"'
out=$("$aws" cloudtrail describe-trails --region eu-west-1 --no-include-shadow-trails)
check "$out" 'j["trailList"] == []'

step update-trail
out=$("$aws" cloudtrail update-trail --name my-trail --is-multi-region-trail)
check "$out" 'j["IsMultiRegionTrail"] and j["Name"] == "my-trail"'
fails_with InvalidHomeRegionException "$aws" cloudtrail update-trail --name my-trail --region eu-west-1 --enable-log-file-validation

step start-logging and get-trail-status
out=$("$aws" cloudtrail get-trail-status --name my-trail)
check "$out" 'j["IsLogging"] is False and "StartLoggingTime" not in j and "LatestDeliveryTime" not in j'
"$aws" cloudtrail start-logging --name my-trail
out=$("$aws" cloudtrail get-trail-status --name my-trail)
check "$out" 'j["IsLogging"] is True and "StartLoggingTime" in j and "LatestDeliveryTime" not in j'

step register-organization-delegated-admin
"$aws" cloudtrail register-organization-delegated-admin --member-account-id=123456789012
fails_with AccountRegisteredException "$aws" cloudtrail register-organization-delegated-admin --member-account-id=123456789012

step selectors, tags, listing
"$aws" cloudtrail put-event-selectors --trail-name my-trail \
  --event-selectors '[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true}]' > /dev/null
out=$("$aws" cloudtrail get-event-selectors --trail-name my-trail)
check "$out" 'j["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"'
"$aws" cloudtrail add-tags --resource-id arn:aws:cloudtrail:us-east-1:111111111111:trail/my-trail --tags-list Key=team,Value=security
out=$("$aws" cloudtrail list-tags --resource-id-list arn:aws:cloudtrail:us-east-1:111111111111:trail/my-trail)
check "$out" 'j["ResourceTagList"][0]["TagsList"] == [{"Key": "team", "Value": "security"}]'
out=$("$aws" cloudtrail list-trails)
check "$out" 'j["Trails"][0]["Name"] == "my-trail"'

step errors
# A write call (the trail selects write events only) that fails.
fails_with TrailNotFoundException "$aws" cloudtrail delete-trail --name no-such-trail
fails_with InvalidTrailNameException "$aws" cloudtrail get-trail --name a
fails_with S3BucketDoesNotExistException "$aws" cloudtrail create-trail --name trail-2 --s3-bucket-name missing-bucket
fails_with TrailAlreadyExistsException "$aws" cloudtrail create-trail --name my-trail --s3-bucket-name amzn-s3-demo-bucket
fails_with UnrecognizedClientException env AWS_ACCESS_KEY_ID=AKIAUNKNOWN000000000 "$aws" cloudtrail describe-trails
fails_with InvalidSignatureException env AWS_SECRET_ACCESS_KEY=wrong-secret "$aws" cloudtrail describe-trails
fails_with UnsupportedOperationException "$aws" cloudtrail list-insights-metric-data --event-source ec2.amazonaws.com --event-name RunInstances --insight-type ApiCallRateInsight

step members see the organization trail
"$aws" cloudtrail update-trail --name my-trail --is-organization-trail > /dev/null
out=$(AWS_ACCESS_KEY_ID=AKIAMEMB000000000002 AWS_SECRET_ACCESS_KEY=member-secret-0000000000000000000000000 "$aws" cloudtrail describe-trails)
check "$out" 'j["trailList"][0]["IsOrganizationTrail"] is True'

step lookup-events
# Every call above is in event history; the CLI merges pages on its own (here 2 events per request).
for _ in $(seq 20); do
  out=$("$aws" cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateTrail)
  python3 -c 'import json,sys; sys.exit(len(json.loads(sys.argv[1])["Events"]) < 3)' "$out" && break
  sleep 0.05
done
check "$out" 'len(j["Events"]) == 3 and all(e["EventName"] == "CreateTrail" for e in j["Events"])'
check "$out" 'json.loads(j["Events"][-1]["CloudTrailEvent"])["requestParameters"]["name"] == "my-trail"'
check "$out" 'j["Events"][-1]["Username"] == "admin" and j["Events"][-1]["Resources"][0]["ResourceName"] == "my-trail"'
out=$("$aws" cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=cloudtrail.amazonaws.com --page-size 2)
check "$out" 'len(j["Events"]) > 10 and "NextToken" not in j'
check "$out" 'all(a["EventTime"] >= b["EventTime"] for a, b in zip(j["Events"], j["Events"][1:]))'
out=$("$aws" cloudtrail lookup-events --max-items 3)
check "$out" 'len(j["Events"]) == 3 and "NextToken" in j'
fails_with InvalidLookupAttributesException "$aws" cloudtrail lookup-events \
  --lookup-attributes AttributeKey=EventName,AttributeValue=A AttributeKey=Username,AttributeValue=B
fails_with InvalidTimeRangeException "$aws" cloudtrail lookup-events --start-time 2026-02-02 --end-time 2026-01-01
fails_with InvalidMaxResultsException "$aws" cloudtrail lookup-events --max-results 51

step "CloudTrail Lake: an event data store and a query over the calls just made"
out=$("$aws" cloudtrail create-event-data-store --name cli-store --no-termination-protection-enabled --retention-period 30)
check "$out" 'j["Status"] == "CREATED" and j["RetentionPeriod"] == 30 and j["AdvancedEventSelectors"][0]["Name"] == "Default management events"'
store=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["EventDataStoreArn"].split("/")[-1])' "$out")
"$aws" cloudtrail describe-trails > /dev/null
"$aws" cloudtrail get-trail-status --name my-trail > /dev/null
query=$("$aws" cloudtrail start-query --query-statement \
  "SELECT eventName, count(*) AS calls FROM $store WHERE eventSource = 'cloudtrail.amazonaws.com' AND eventName IN ('DescribeTrails', 'GetTrailStatus') GROUP BY eventName ORDER BY eventName" \
  --query QueryId --output text)
wait_query "$query"
out=$("$aws" cloudtrail get-query-results --query-id "$query")
check "$out" 'j["QueryStatus"] == "FINISHED" and j["QueryResultRows"] == [[{"eventName": "DescribeTrails"}, {"calls": "1"}], [{"eventName": "GetTrailStatus"}, {"calls": "1"}]]'
out=$("$aws" cloudtrail list-queries --event-data-store "$store")
check "$out" 'j["Queries"][0]["QueryId"] == "'"$query"'" and j["Queries"][0]["QueryStatus"] == "FINISHED"'
fails_with InvalidQueryStatementException "$aws" cloudtrail start-query --query-statement "DROP TABLE $store"
# Results delivered to a bucket with their sign file, checked by cairn and by an independent verifier.
"$aws" s3api create-bucket --bucket lake-results > /dev/null
cat > "$work/results-policy.json" <<JSON
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
   "Resource": "arn:aws:s3:::lake-results"},
  {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
   "Resource": "arn:aws:s3:::lake-results/exports/AWSLogs/111111111111/*",
   "Condition": {"StringLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111111111111:eventdatastore/*"}}}]}
JSON
fails_with InsufficientS3BucketPolicyException "$aws" cloudtrail start-query --query-statement "SELECT 1 FROM $store" \
  --delivery-s3-uri s3://lake-results/exports
"$aws" s3api put-bucket-policy --bucket lake-results --policy "file://$work/results-policy.json"
query=$("$aws" cloudtrail start-query --query-statement "SELECT eventName, eventTime FROM $store ORDER BY eventTime" \
  --delivery-s3-uri s3://lake-results/exports --query QueryId --output text)
wait_query "$query"
out=$("$aws" cloudtrail describe-query --query-id "$query")
check "$out" 'j["DeliveryStatus"] == "SUCCESS" and j["DeliveryS3Uri"] == "s3://lake-results/exports"'
folder=$("$aws" s3 ls --recursive s3://lake-results/exports/ | awk '{print $4}' | grep '/result_sign.json$' | sed 's#/result_sign.json$##')
"$aws" s3 cp --recursive --quiet "s3://lake-results/$folder/" "$work/results/"
"$aws" cloudtrail list-public-keys > "$work/public-keys.json"
"$(dirname "$aws")/python" "$(dirname "$0")/verify_results.py" "$work/results" "$work/public-keys.json"
"$cairn" verify-query-results --s3-bucket lake-results --s3-prefix "$folder" --endpoint "$endpoint" | grep -q "Successfully validated"
"$cairn" verify-query-results --local-export-path "$work/results" --public-keys "$work/public-keys.json" | grep -q "Successfully validated"
printf 'changed' | gzip > "$work/results/result_1.csv.gz"
if "$cairn" verify-query-results --local-export-path "$work/results" --public-keys "$work/public-keys.json" 2> "$work/err"; then
  echo "a changed result file verified" >&2; exit 1
fi
grep -q "inconsistent hash value" "$work/err"
"$aws" cloudtrail delete-event-data-store --event-data-store "$store"
out=$("$aws" cloudtrail get-event-data-store --event-data-store "$store")
check "$out" 'j["Status"] == "PENDING_DELETION"'
fails_with InactiveEventDataStoreException "$aws" cloudtrail start-query --query-statement "SELECT 1 FROM $store"

step "CloudTrail Lake integrations: a channel and aws cloudtrail-data put-audit-events"
out=$("$aws" cloudtrail create-event-data-store --name cli-apps --no-termination-protection-enabled \
  --advanced-event-selectors '[{"Name": "apps", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["ActivityAuditLog"]}]}]')
apps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["EventDataStoreArn"])' "$out")
channel=$("$aws" cloudtrail create-channel --name cli-channel --source Custom \
  --destinations "Type=EVENT_DATA_STORE,Location=$apps" --query ChannelArn --output text)
data='{"version":"1.0","userIdentity":{"type":"CustomUser","principalId":"carol"},"eventSource":"shop.example.com","eventName":"PlaceOrder","eventTime":"2026-11-30T10:11:12Z","UID":"order-1","recipientAccountId":"111111111111"}'
events=$(python3 -c 'import json,sys; print(json.dumps([{"id": "one", "eventData": sys.argv[1]}, {"id": "two", "eventData": "{}"}]))' "$data")
out=$("$aws" cloudtrail-data put-audit-events --channel-arn "$channel" --audit-events "$events")
check "$out" 'len(j["successful"]) == 1 and j["successful"][0]["id"] == "one" and j["failed"][0]["errorCode"] == "FieldNotFound"'
fails_with DuplicatedAuditEventId "$aws" cloudtrail-data put-audit-events --channel-arn "$channel" \
  --audit-events "$(python3 -c 'import json,sys; print(json.dumps([{"id": "a", "eventData": sys.argv[1]}] * 2))' "$data")"
query=$("$aws" cloudtrail start-query --query-statement \
  "SELECT eventdata.eventname AS name, eventdata.useridentity.principalid AS who FROM ${apps##*/}" --query QueryId --output text)
wait_query "$query"
out=$("$aws" cloudtrail get-query-results --query-id "$query")
check "$out" 'j["QueryResultRows"] == [[{"name": "PlaceOrder"}, {"who": "carol"}]]'
fails_with ChannelExistsForEDSException "$aws" cloudtrail delete-event-data-store --event-data-store "$apps"
"$aws" cloudtrail delete-channel --channel "$channel"
"$aws" cloudtrail delete-event-data-store --event-data-store "$apps"

step "CloudWatch Logs: the organization trail's events in a log group (o-... streams), a CIS metric filter, filter-log-events"
"$aws" logs create-log-group --log-group-name CloudTrail/cli
"$aws" logs put-retention-policy --log-group-name CloudTrail/cli --retention-in-days 90
fails_with InvalidParameterException "$aws" logs put-retention-policy --log-group-name CloudTrail/cli --retention-in-days 4
fails_with ResourceAlreadyExistsException "$aws" logs create-log-group --log-group-name CloudTrail/cli
cis='{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || ($.errorCode = "TrailNotFound*") }'
"$aws" logs put-metric-filter --log-group-name CloudTrail/cli --filter-name unauthorized --filter-pattern "$cis" \
  --metric-transformations metricName=UnauthorizedAPICalls,metricNamespace=CloudTrailMetrics,metricValue=1,defaultValue=0
out=$("$aws" logs describe-metric-filters --log-group-name CloudTrail/cli)
check "$out" 'j["metricFilters"][0]["metricTransformations"][0]["metricName"] == "UnauthorizedAPICalls"'
fails_with InvalidParameterException "$aws" logs put-metric-filter --log-group-name CloudTrail/cli --filter-name bad \
  --filter-pattern '{ $.a IS NOT NULL }' --metric-transformations metricName=M,metricNamespace=N,metricValue=1
out=$("$aws" logs test-metric-filter --filter-pattern '[ip, user, ..., status = 4*, bytes]' --log-event-messages \
  '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534' 'INFO nothing to see')
check "$out" 'len(j["matches"]) == 1 and j["matches"][0]["extractedValues"]["$status"] == "404"'
"$aws" cloudtrail update-trail --name my-trail \
  --cloud-watch-logs-log-group-arn "arn:aws:logs:us-east-1:111111111111:log-group:CloudTrail/cli:*" \
  --cloud-watch-logs-role-arn arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role > /dev/null
# A write call (the trail selects write events only) that fails.
fails_with TrailNotFoundException "$aws" cloudtrail delete-trail --name no-such-trail
for _ in $(seq 100); do
  out=$("$aws" logs filter-log-events --log-group-name CloudTrail/cli --filter-pattern "$cis")
  python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["events"] else 1)' "$out" && break
  sleep 0.1
done
check "$out" 'j["events"][0]["logStreamName"] == "o-a1b2c3d4e5_111111111111_CloudTrail_us-east-1" and "TrailNotFoundException" in j["events"][0]["message"]'
out=$("$aws" cloudtrail get-trail-status --name my-trail)
check "$out" '"LatestCloudWatchLogsDeliveryTime" in j'
out=$("$aws" logs describe-log-streams --log-group-name CloudTrail/cli --order-by LastEventTime --descending)
check "$out" 'j["logStreams"][0]["logStreamName"] == "o-a1b2c3d4e5_111111111111_CloudTrail_us-east-1"'

step stop-logging and delete-trail
"$aws" cloudtrail stop-logging --name my-trail
"$aws" cloudtrail delete-trail --name my-trail
out=$("$aws" cloudtrail describe-trails)
check "$out" 'j["trailList"] == []'

step "cairn's own buckets with aws s3 and s3api"
"$aws" s3 mb s3://cli-own-bucket > /dev/null
head -c 9000000 /dev/urandom > "$work/big.bin"   # over the CLI's 8 MiB threshold: a multipart upload
echo "small object" > "$work/small.txt"
"$aws" s3 cp "$work/small.txt" s3://cli-own-bucket/shared/small.txt > /dev/null
"$aws" s3 cp "$work/big.bin" s3://cli-own-bucket/private/big.bin > /dev/null
"$aws" s3 ls --recursive s3://cli-own-bucket/ > "$work/own-listing"
grep -q "shared/small.txt" "$work/own-listing" && grep -q "9000000 private/big.bin" "$work/own-listing" \
  || { echo "unexpected listing: $(cat "$work/own-listing")" >&2; exit 1; }
"$aws" s3 cp s3://cli-own-bucket/private/big.bin "$work/big.copy" > /dev/null
cmp "$work/big.bin" "$work/big.copy"
out=$("$aws" s3api head-object --bucket cli-own-bucket --key private/big.bin)
check "$out" 'j["ContentLength"] == 9000000 and j["ETag"].endswith("-2\"")'
fails_with MalformedPolicy "$aws" s3api put-bucket-policy --bucket cli-own-bucket --policy '{"Statement":[]}'
fails_with NoSuchBucketPolicy "$aws" s3api get-bucket-policy --bucket cli-own-bucket
member() { AWS_ACCESS_KEY_ID=AKIAMEMB000000000002 AWS_SECRET_ACCESS_KEY=member-secret-0000000000000000000000000 "$aws" "$@"; }
fails_with AccessDenied member s3api get-object --bucket cli-own-bucket --key shared/small.txt "$work/member.txt"
policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::cli-own-bucket/shared/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}'
"$aws" s3api put-bucket-policy --bucket cli-own-bucket --policy "$policy"
out=$("$aws" s3api get-bucket-policy --bucket cli-own-bucket)
check "$out" 'json.loads(j["Policy"])["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-a1b2c3d4e5"'
member s3api get-object --bucket cli-own-bucket --key shared/small.txt "$work/member.txt" > /dev/null
cmp "$work/small.txt" "$work/member.txt"
fails_with AccessDenied member s3api get-object --bucket cli-own-bucket --key private/big.bin "$work/member.bin"
fails_with BucketNotEmpty "$aws" s3api delete-bucket --bucket cli-own-bucket
"$aws" s3 rm --recursive s3://cli-own-bucket/ > /dev/null
"$aws" s3 rb s3://cli-own-bucket > /dev/null
fails_with NoSuchBucket "$aws" s3api get-bucket-location --bucket cli-own-bucket

step "SSE-KMS trail: a new key and alias, cairn trail-bucket, aws s3 to read, the delivery errors"
status_error() { # status_error <trail> <expected LatestDeliveryError, or "none">: waits for it
  for _ in $(seq 150); do
    "$aws" cloudtrail describe-trails > /dev/null  # something to deliver
    got=$("$aws" cloudtrail get-trail-status --name "$1" --query 'LatestDeliveryError' --output text)
    [ "$got" = "$2" ] || { [ "$2" = none ] && [ "$got" = None ]; } && return 0
    sleep 0.2
  done
  echo "LatestDeliveryError of $1 is $got, expected $2" >&2; exit 1
}
key_id=$("$aws" kms create-key --description "CloudTrail logs" --query KeyMetadata.KeyId --output text)
"$aws" kms create-alias --alias-name alias/cloudtrail-logs --target-key-id "$key_id"
cat > "$work/key-policy.json" <<'JSON'
{"Version": "2012-10-17", "Id": "Key policy created by CloudTrail", "Statement": [
 {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
  "Action": "kms:*", "Resource": "*"},
 {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
  "Action": "kms:GenerateDataKey*", "Resource": "*",
  "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/kms-trail"},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}},
 {"Sid": "Allow CloudTrail to describe key", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
  "Action": "kms:DescribeKey", "Resource": "*"},
 {"Sid": "Allow principals in the account to decrypt log files", "Effect": "Allow", "Principal": {"AWS": "*"},
  "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
  "Condition": {"StringEquals": {"kms:CallerAccount": "111111111111"},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}]}
JSON
fails_with MalformedPolicyDocumentException "$aws" kms put-key-policy --key-id "$key_id" --policy-name default --policy '{"Statement":[]}'
"$aws" kms put-key-policy --key-id "$key_id" --policy-name default --policy "file://$work/key-policy.json"
out=$("$aws" kms describe-key --key-id alias/cloudtrail-logs)
check "$out" 'j["KeyMetadata"]["KeyState"] == "Enabled" and j["KeyMetadata"]["KeySpec"] == "SYMMETRIC_DEFAULT"'
printf secret > "$work/plain.txt"
out=$("$aws" kms encrypt --key-id alias/cloudtrail-logs --plaintext "fileb://$work/plain.txt" --encryption-context purpose=test)
blob=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["CiphertextBlob"])' "$out")
echo "$blob" | base64 -d > "$work/blob.bin"
out=$("$aws" kms decrypt --ciphertext-blob "fileb://$work/blob.bin" --encryption-context purpose=test)
check "$out" '__import__("base64").b64decode(j["Plaintext"]) == b"secret"'
fails_with InvalidCiphertextException "$aws" kms decrypt --ciphertext-blob "fileb://$work/blob.bin" --encryption-context purpose=other
"$cairn" trail-bucket kms-trail-logs --trail kms-trail > "$work/bucket-policy.json" 2> /dev/null
check "$(cat "$work/bucket-policy.json")" '[s["Sid"] for s in j["Statement"]] == ["AWSCloudTrailAclCheck20150319", "AWSCloudTrailWrite20150319"]'
if "$cairn" trail-bucket kms-trail-logs --trail kms-trail > /dev/null 2>&1; then
  echo "cairn trail-bucket replaced an existing policy without --replace" >&2; exit 1
fi
out=$("$aws" cloudtrail create-trail --name kms-trail --s3-bucket-name kms-trail-logs --kms-key-id alias/cloudtrail-logs \
  --enable-log-file-validation)
check "$out" 'j["KmsKeyId"].endswith(":key/'"$key_id"'")'
"$aws" cloudtrail start-logging --name kms-trail
status_error kms-trail none
for _ in $(seq 150); do
  "$aws" s3 ls --recursive s3://kms-trail-logs/AWSLogs/ > "$work/kms-listing" 2>/dev/null || true
  grep -q '/CloudTrail/.*\.json\.gz$' "$work/kms-listing" && break
  sleep 0.2
done
"$aws" s3 sync s3://kms-trail-logs/ "$work/kms-synced" > /dev/null
python3 - "$work/kms-synced" <<'PY'
import glob, gzip, json, os, sys
files = glob.glob(os.path.join(sys.argv[1], "AWSLogs", "*", "CloudTrail", "**", "*.json.gz"), recursive=True)
assert files, "no log files synced"
for f in files:
    assert json.load(gzip.open(f))["Records"], f
PY
first=$(awk '{print $4}' "$work/kms-listing" | grep /CloudTrail/ | head -1)
"$aws" s3 cp "s3://kms-trail-logs/$first" "$work/one.json.gz" > /dev/null
python3 -c 'import gzip,json,sys; assert json.load(gzip.open(sys.argv[1]))["Records"]' "$work/one.json.gz"
fails_with AccessDenied member s3api get-object --bucket kms-trail-logs --key "$first" "$work/member-log.gz"
out=$("$aws" s3api head-object --bucket kms-trail-logs --key "$first")
check "$out" 'j["ServerSideEncryption"] == "aws:kms" and j["SSEKMSKeyId"].endswith("'"$key_id"'")'
# Deleting the bucket policy shows in the trail's status, as in AWS's console experiment; putting it back delivers.
"$aws" s3api delete-bucket-policy --bucket kms-trail-logs
status_error kms-trail AccessDenied
"$aws" s3api put-bucket-policy --bucket kms-trail-logs --policy "file://$work/bucket-policy.json"
status_error kms-trail none
"$aws" kms disable-key --key-id "$key_id"
status_error kms-trail KMS.DisabledException
"$aws" kms enable-key --key-id "$key_id"
status_error kms-trail none
out=$("$aws" cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=kms.amazonaws.com)
check "$out" '{"CreateKey", "DisableKey", "Decrypt"} <= {e["EventName"] for e in j["Events"]}'
"$aws" cloudtrail stop-logging --name kms-trail
# The AWS CLI validates the chain through the outages above; as in AWS, digests are not SSE-KMS objects.
settled kms-trail
"$aws" cloudtrail validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111111111111:trail/kms-trail \
  --start-time "$scenario_start" > "$work/kms-validate.out"
grep -q "digest files valid" "$work/kms-validate.out" || { cat "$work/kms-validate.out" >&2; exit 1; }
digest=$("$aws" s3 ls --recursive s3://kms-trail-logs/AWSLogs/111111111111/CloudTrail-Digest/ | awk '{print $4}' | head -1)
out=$("$aws" s3api head-object --bucket kms-trail-logs --key "$digest")
check "$out" '"SSEKMSKeyId" not in j and j["Metadata"]["signature-algorithm"] == "SHA256withRSA"'
"$aws" cloudtrail delete-trail --name kms-trail
out=$("$aws" kms schedule-key-deletion --key-id "$key_id" --pending-window-in-days 7)
check "$out" 'j["KeyState"] == "PendingDeletion" and j["PendingWindowInDays"] == 7'

step SIGTERM
kill -TERM "$pid"; wait "$pid"; pid=

step delivery to an S3-compatible server, read back with aws s3
: "${CAIRN_TEST_S3_ENDPOINT:?set CAIRN_TEST_S3_* (scripts/test starts Garage and sets them)}"
sed -e "s|^data_dir = .*|data_dir = \"$work/data-s3\"|" -e '/^\[storage\]/,$d' "$work/cairn.toml" > "$work/s3.toml"
cat >> "$work/s3.toml" <<TOML
[storage]
kind = "s3"
endpoint = "$CAIRN_TEST_S3_ENDPOINT"
region = "$CAIRN_TEST_S3_REGION"
access_key_id = "$CAIRN_TEST_S3_ACCESS_KEY_ID"
secret_access_key = "$CAIRN_TEST_S3_SECRET_ACCESS_KEY"
[delivery]
window_seconds = 1
TOML
"$cairn" serve --config "$work/s3.toml" --listen 127.0.0.1:0 > "$work/stdout-s3" 2> "$work/stderr-s3" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/stdout-s3" 2>/dev/null && break; sleep 0.05; done
export AWS_ENDPOINT_URL=$(grep -o 'http://[0-9.:]*' "$work/stdout-s3")
bucket=$CAIRN_TEST_S3_BUCKET
prefix="cli-scenario-$$-$RANDOM"
s3() {
  AWS_ACCESS_KEY_ID=$CAIRN_TEST_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$CAIRN_TEST_S3_SECRET_ACCESS_KEY \
    AWS_DEFAULT_REGION=$CAIRN_TEST_S3_REGION AWS_ENDPOINT_URL=$CAIRN_TEST_S3_ENDPOINT "$aws" s3 "$@"
}
fails_with S3BucketDoesNotExistException "$aws" cloudtrail create-trail --name cli-trail --s3-bucket-name no-such-bucket-here
"$aws" cloudtrail create-trail --name cli-trail --s3-bucket-name "$bucket" --s3-key-prefix "$prefix" --is-multi-region-trail > /dev/null
"$aws" cloudtrail start-logging --name cli-trail
for region in us-east-1 eu-west-1; do
  "$aws" cloudtrail describe-trails --region "$region" > /dev/null
  "$aws" cloudtrail list-trails --region "$region" > /dev/null
done
for _ in $(seq 150); do
  s3 ls --recursive "s3://$bucket/$prefix/" > "$work/listing" 2>/dev/null || true
  grep -q "/CloudTrail/eu-west-1/" "$work/listing" && grep -q "/CloudTrail/us-east-1/" "$work/listing" && break
  sleep 0.2
done
grep -q "/CloudTrail/eu-west-1/" "$work/listing" && grep -q "/CloudTrail/us-east-1/" "$work/listing" \
  || { echo "no log files for both regions: $(cat "$work/listing")" >&2; exit 1; }
s3 sync "s3://$bucket/$prefix/" "$work/synced" > /dev/null
python3 - "$work/synced" <<'PY'
import glob, gzip, json, os, re, sys
root = sys.argv[1]
files = glob.glob(os.path.join(root, "**", "*.json.gz"), recursive=True)
pattern = re.compile(r"AWSLogs/111111111111/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/111111111111_CloudTrail_\1_\2\3\4T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$")
names = set()
for f in files:
    key = os.path.relpath(f, root)
    m = pattern.match(key)
    assert m, key
    records = json.load(gzip.open(f))["Records"]
    assert records and all(r["awsRegion"] == m.group(1) and r["recipientAccountId"] == "111111111111" for r in records), key
    names.update((r["awsRegion"], r["eventName"]) for r in records)
for region in ("us-east-1", "eu-west-1"):
    assert (region, "DescribeTrails") in names and (region, "ListTrails") in names, names
assert ("us-east-1", "StartLogging") in names, names
PY
out=$("$aws" cloudtrail get-trail-status --name cli-trail)
check "$out" 'j["IsLogging"] and "LatestDeliveryTime" in j and "LatestDeliveryError" not in j'
kill -TERM "$pid"; wait "$pid"; pid=
echo "CLI scenario passed" >&2
