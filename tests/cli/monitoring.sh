#!/usr/bin/env bash
# Scenario: the CIS monitoring chain of AWS's CloudTrail tutorials and Security Hub's CloudWatch.1-14 controls, run
# with the real AWS CLI against `cairn serve`: a log group with retention, a multi-region trail sending to it, the 14
# CIS metric filters with exactly Security Hub's patterns, an alarm on each notifying an SNS topic, and an HTTP
# subscriber run by this script that confirms its subscription and verifies every signature. Then a failed console
# sign-in, a security group change and an unauthorized call arrive through producer ingestion, and the subscriber
# must receive each alarm's notification. The same calls as the seeds' Terraform (docs/monitoring.md).
# Usage: tests/cli/monitoring.sh <cairn binary> <aws cli> <python with cryptography>
set -euo pipefail
cairn=${1:?usage: monitoring.sh <cairn binary> <aws cli> <python>}
aws=${2:?usage: monitoring.sh <cairn binary> <aws cli> <python>}
python=${3:?usage: monitoring.sh <cairn binary> <aws cli> <python>}
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/cairn.toml" <<TOML
data_dir = "$work/data"
[[accounts]]
id = "111111111111"
[[accounts.credentials]]
access_key_id = "AKIAMGMT000000000001"
secret_access_key = "mgmt-secret-000000000000000000000000000"
principal = "user/admin"
ingest_accounts = ["111111111111"]
[storage]
kind = "local"
buckets = ["cis-trail-logs"]
[delivery]
window_seconds = 1
TOML

"$cairn" serve --config "$work/cairn.toml" --listen 127.0.0.1:0 > "$work/stdout" 2> "$work/stderr" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/stdout" 2>/dev/null && break; sleep 0.05; done
endpoint=$(grep -o 'http://[0-9.:]*' "$work/stdout")

"$python" "$here/monitoring.py" subscriber "$work/port" "$work/received" 2> "$work/subscriber.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
hook="http://127.0.0.1:$(cat "$work/port")/alerts"

export AWS_ACCESS_KEY_ID=AKIAMGMT000000000001 AWS_SECRET_ACCESS_KEY=mgmt-secret-000000000000000000000000000
export AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$endpoint" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
account=111111111111

step() { echo "--- $*" >&2; }
check() { # check <json> <python expression over j>
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert eval(sys.argv[2]), (sys.argv[2], str(j)[:2000])' "$1" "$2"
}
fails_with() { # fails_with <code> <command...>
  local want=$1; shift
  if "$@" > "$work/out" 2> "$work/err"; then echo "expected $want from: $*" >&2; exit 1; fi
  grep -q "($want)" "$work/err" || { echo "expected $want, got: $(cat "$work/err")" >&2; exit 1; }
}
received() { # received <python expression over m, one notification>: waits (90 s at most) for a matching message
  for _ in $(seq 180); do
    if [ -s "$work/received" ] && python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)' "$work/received" "$1"; then return 0; fi
    sleep 0.5
  done
  echo "no notification matched $1; received: $(cat "$work/received" 2>/dev/null)" >&2
  cat "$work/subscriber.err" >&2
  exit 1
}

step "cairn check before anything is set up: every control fails"
if "$cairn" check --output json > "$work/check.json"; then echo "cairn check passed with nothing set up" >&2; exit 1; fi
check "$(cat "$work/check.json")" 'len(j["Controls"]) == 21 and all(c["Status"] == "FAILED" for c in j["Controls"])'

step "an SNS topic with an HTTP subscriber that confirms"
topic=$("$aws" sns create-topic --name cis-alarms --query TopicArn --output text)
[ "$topic" = "arn:aws:sns:us-east-1:$account:cis-alarms" ]
out=$("$aws" sns subscribe --topic-arn "$topic" --protocol http --notification-endpoint "$hook")
check "$out" 'j["SubscriptionArn"] == "pending confirmation"'
received 'm["Type"] == "SubscriptionConfirmation"'
for _ in $(seq 40); do
  out=$("$aws" sns list-subscriptions-by-topic --topic-arn "$topic")
  python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["Subscriptions"][0]["SubscriptionArn"] == "PendingConfirmation")' "$out" && break
  sleep 0.25
done
check "$out" 'j["Subscriptions"][0]["SubscriptionArn"].startswith("arn:aws:sns:us-east-1:111111111111:cis-alarms:")'
out=$("$aws" sns get-topic-attributes --topic-arn "$topic")
check "$out" 'j["Attributes"]["SubscriptionsConfirmed"] == "1"'

step "the log group, its retention, and a multi-region trail sending to it"
"$aws" logs create-log-group --log-group-name CloudTrail/cis
"$aws" logs put-retention-policy --log-group-name CloudTrail/cis --retention-in-days 365
group_arn="arn:aws:logs:us-east-1:$account:log-group:CloudTrail/cis:*"
role_arn="arn:aws:iam::$account:role/CloudTrail_CloudWatchLogs_Role"
fails_with InsufficientSnsTopicPolicyException "$aws" cloudtrail create-trail --name cis-trail \
  --s3-bucket-name cis-trail-logs --sns-topic-name cis-alarms
"$aws" cloudtrail create-trail --name cis-trail --s3-bucket-name cis-trail-logs --is-multi-region-trail \
  --enable-log-file-validation --cloud-watch-logs-log-group-arn "$group_arn" --cloud-watch-logs-role-arn "$role_arn" > /dev/null
"$aws" cloudtrail start-logging --name cis-trail

step "the 14 CIS metric filters and an alarm on each"
tail -n +2 "$here/../../../shared/reference/cis-metric-filters.tsv" > "$work/cis.tsv"
n=0
while IFS=$'\t' read -r id name pattern; do
  case "$id" in CloudWatch.[0-9]|CloudWatch.1[0-4]) ;; *) continue ;; esac
  metric="CIS-${id/./-}"
  "$aws" logs put-metric-filter --log-group-name CloudTrail/cis --filter-name "$metric" --filter-pattern "$pattern" \
    --metric-transformations "metricName=$metric,metricNamespace=CISBenchmark,metricValue=1"
  "$aws" cloudwatch put-metric-alarm --alarm-name "$metric" --alarm-description "$name" \
    --namespace CISBenchmark --metric-name "$metric" --statistic Sum --period 300 --evaluation-periods 1 \
    --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --treat-missing-data notBreaching \
    --alarm-actions "$topic"
  n=$((n + 1))
done < "$work/cis.tsv"
[ "$n" = 14 ]
out=$("$aws" logs describe-metric-filters --log-group-name CloudTrail/cis)
check "$out" 'len(j["metricFilters"]) == 14'
out=$("$aws" cloudwatch describe-alarms --alarm-name-prefix CIS- --max-items 100)
check "$out" 'len(j["MetricAlarms"]) == 14 and all(a["StateValue"] in ("INSUFFICIENT_DATA", "OK") for a in j["MetricAlarms"])'
fails_with ValidationError "$aws" cloudwatch put-metric-alarm --alarm-name bad --namespace CISBenchmark \
  --metric-name x --statistic Sum --period 60 --evaluation-periods 1 --datapoints-to-alarm 2 --threshold 1 \
  --comparison-operator GreaterThanOrEqualToThreshold

step "a failed console sign-in, a security group change and an unauthorized call, through producer ingestion"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/records.json" <<JSON
{"Records": [
 {"eventVersion": "1.08", "eventTime": "$now", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
  "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "recipientAccountId": "$account",
  "userIdentity": {"type": "IAMUser", "accountId": "$account", "userName": "mallory"},
  "errorMessage": "Failed authentication", "responseElements": {"ConsoleLogin": "Failure"},
  "additionalEventData": {"MFAUsed": "No"}, "eventType": "AwsConsoleSignIn", "managementEvent": true},
 {"eventVersion": "1.08", "eventTime": "$now", "eventSource": "ec2.amazonaws.com",
  "eventName": "AuthorizeSecurityGroupIngress", "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.4",
  "recipientAccountId": "$account", "userIdentity": {"type": "IAMUser", "accountId": "$account", "userName": "ops"},
  "requestParameters": {"groupId": "sg-0123456789abcdef0"}, "eventType": "AwsApiCall", "managementEvent": true},
 {"eventVersion": "1.08", "eventTime": "$now", "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
  "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.9", "recipientAccountId": "$account",
  "userIdentity": {"type": "IAMUser", "accountId": "$account", "userName": "intruder"},
  "errorCode": "Client.UnauthorizedOperation", "errorMessage": "You are not authorized to perform this operation.",
  "eventType": "AwsApiCall", "readOnly": true, "managementEvent": true}
]}
JSON
"$python" "$here/monitoring.py" ingest "$endpoint" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$work/records.json" > /dev/null

step "the subscriber receives each alarm's notification, as CloudWatch writes it"
for alarm in CIS-CloudWatch-6 CIS-CloudWatch-10 CIS-CloudWatch-2; do
  received "m[\"Type\"] == \"Notification\" and m.get(\"Subject\") == 'ALARM: \"$alarm\" in US East (N. Virginia)'"
done
python3 - "$work/received" <<'PY'
import json, sys
notes = [json.loads(l) for l in open(sys.argv[1])]
alarm = next(json.loads(n["Message"]) for n in notes if n.get("Subject", "").startswith('ALARM: "CIS-CloudWatch-6"'))
assert alarm["NewStateValue"] == "ALARM" and alarm["OldStateValue"] in ("INSUFFICIENT_DATA", "OK"), alarm
assert alarm["Region"] == "US East (N. Virginia)" and alarm["AWSAccountId"] == "111111111111", alarm
assert alarm["AlarmDescription"] == "console authentication failures", alarm
t = alarm["Trigger"]
assert (t["MetricName"], t["Namespace"], t["Statistic"], t["Period"], t["Threshold"]) == \
    ("CIS-CloudWatch-6", "CISBenchmark", "SUM", 300, 1.0), t
assert alarm["NewStateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 ("), alarm["NewStateReason"]
assert alarm["StateChangeTime"].endswith("+0000"), alarm["StateChangeTime"]
PY
out=$("$aws" cloudwatch describe-alarms --state-value ALARM)
check "$out" '{"CIS-CloudWatch-2", "CIS-CloudWatch-6", "CIS-CloudWatch-10"} <= {a["AlarmName"] for a in j["MetricAlarms"]}'
check "$out" '"CIS-CloudWatch-1" not in {a["AlarmName"] for a in j["MetricAlarms"]}'
out=$("$aws" cloudwatch describe-alarm-history --alarm-name CIS-CloudWatch-6 --history-item-type Action)
check "$out" 'j["AlarmHistoryItems"][0]["HistorySummary"] == "Successfully executed action arn:aws:sns:us-east-1:111111111111:cis-alarms"'
out=$("$aws" cloudwatch get-metric-statistics --namespace CISBenchmark --metric-name CIS-CloudWatch-10 --period 300 \
  --start-time "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)" --end-time "$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)" \
  --statistics Sum)
check "$out" 'sum(p["Sum"] for p in j["Datapoints"]) == 1.0'
out=$("$aws" cloudwatch list-metrics --namespace CISBenchmark)
check "$out" '{"CIS-CloudWatch-2", "CIS-CloudWatch-6", "CIS-CloudWatch-10"} <= {m["MetricName"] for m in j["Metrics"]}'

step "a trail's SNS notifications of delivered log files, once the topic policy lets CloudTrail publish"
# The CloudTrail statement joins the default one, which lets the account's alarms publish.
policy=$("$aws" sns get-topic-attributes --topic-arn "$topic" --query Attributes.Policy --output text | python3 -c '
import json, sys
p = json.load(sys.stdin)
p["Statement"].append({"Sid": "AWSCloudTrailSNSPolicy", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                       "Action": "SNS:Publish", "Resource": sys.argv[1]})
print(json.dumps(p))' "$topic")
"$aws" sns set-topic-attributes --topic-arn "$topic" --attribute-name Policy --attribute-value "$policy"
out=$("$aws" cloudtrail update-trail --name cis-trail --sns-topic-name cis-alarms)
check "$out" 'j["SnsTopicARN"] == "arn:aws:sns:us-east-1:111111111111:cis-alarms"'
received 'm["Type"] == "Notification" and json.loads(m["Message"]).get("s3Bucket") == "cis-trail-logs" and json.loads(m["Message"])["s3ObjectKey"][0].startswith("AWSLogs/111111111111/CloudTrail/")'

step "SetAlarmState and a disabled alarm's actions"
"$aws" cloudwatch disable-alarm-actions --alarm-names CIS-CloudWatch-1
"$aws" cloudwatch set-alarm-state --alarm-name CIS-CloudWatch-1 --state-value ALARM --state-reason "drill"
out=$("$aws" cloudwatch describe-alarms --alarm-names CIS-CloudWatch-1)
check "$out" 'j["MetricAlarms"][0]["StateValue"] == "ALARM" and j["MetricAlarms"][0]["ActionsEnabled"] is False'
"$aws" cloudwatch enable-alarm-actions --alarm-names CIS-CloudWatch-4
"$aws" cloudwatch set-alarm-state --alarm-name CIS-CloudWatch-4 --state-value ALARM --state-reason "drill"
received "m.get(\"Subject\") == 'ALARM: \"CIS-CloudWatch-4\" in US East (N. Virginia)' and json.loads(m['Message'])['NewStateReason'] == 'drill'"
python3 -c 'import json,sys; assert not [l for l in open(sys.argv[1]) if json.loads(l).get("Subject", "").startswith("ALARM: \"CIS-CloudWatch-1\"")], "a disabled alarm notified"' "$work/received"

step "cairn check: the CIS chain passes CloudWatch.1-14 and CloudTrail.1, 3, 4, 5"
"$cairn" check --output json > "$work/check.json" || true
"$cairn" check >&2 || true
check "$(cat "$work/check.json")" '{c["ControlId"]: c["Status"] for c in j["Controls"]} == dict(
  [("CloudTrail.%d" % i, "PASSED") for i in (1, 3, 4, 5)] + [("CloudTrail.2", "FAILED"), ("CloudTrail.6", "PASSED"),
  ("CloudTrail.7", "FAILED")] + [("CloudWatch.%d" % i, "PASSED") for i in range(1, 15)])'
# A metric filter whose pattern differs from CIS's fails its control.
"$aws" logs put-metric-filter --log-group-name CloudTrail/cis --filter-name CIS-CloudWatch-7 \
  --filter-pattern '{ $.eventSource = kms.amazonaws.com }' \
  --metric-transformations "metricName=CIS-CloudWatch-7,metricNamespace=CISBenchmark,metricValue=1"
"$cairn" check --output json > "$work/check.json" || true
check "$(cat "$work/check.json")" '[c["Status"] for c in j["Controls"] if c["ControlId"] == "CloudWatch.7"] == ["FAILED"]'

echo "monitoring scenario passed" >&2
