"""Time from an event's acknowledgement to its alarm's SNS notification at an HTTP subscriber (bench/sns_latency.sh).

The chain: producer ingestion acknowledges a record -> a trail sends it to a CloudWatch Logs group -> a metric filter
matches it and publishes a datapoint -> an alarm on that metric goes to ALARM -> SNS delivers CloudWatch's
notification to the subscriber below. Each probe uses its own filter, metric and alarm (`Probe<i>`), so every probe
is one OK -> ALARM transition. The floor, measured in the same run for each probe: the same notification body
POSTed straight from this process to the same subscriber (what one HTTP delivery costs on loopback).

Usage: sns_latency.py <endpoint> <access key> <secret> <probes>
"""

import http.server
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request

from awscli.botocore.auth import SigV4Auth
from awscli.botocore.awsrequest import AWSRequest
from awscli.botocore.credentials import Credentials
from awscli.botocore.session import get_session

ACCOUNT = "111111111111"
REGION = "us-east-1"

endpoint, key, secret, probes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
session = get_session()
session.set_credentials(key, secret)


def client(service):
    return session.create_client(service, region_name=REGION, endpoint_url=endpoint)


arrivals = {}  # subject -> perf_counter at arrival
arrived = threading.Condition()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        at = time.perf_counter()
        message = json.loads(body)
        if message.get("Type") == "SubscriptionConfirmation":
            urllib.request.urlopen(message["SubscribeURL"], timeout=10).read()
        with arrived:
            arrivals.setdefault(message.get("Subject", ""), at)
            arrived.notify_all()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
subscriber = f"http://127.0.0.1:{server.server_address[1]}/sns"


def wait_for(subject, timeout=120):
    deadline = time.perf_counter() + timeout
    with arrived:
        while subject not in arrivals:
            left = deadline - time.perf_counter()
            if left <= 0:
                sys.exit(f"no notification {subject!r} within {timeout} s")
            arrived.wait(left)
        return arrivals[subject]


def ingest(record):
    body = json.dumps({"Records": [record]}).encode()
    request = AWSRequest(method="POST", url=f"{endpoint}/v1/ingest", data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(key, secret), "cairn", REGION).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
    except urllib.error.HTTPError as e:
        sys.exit(f"ingestion refused the probe: {e.code} {e.read().decode()}")
    assert not answer.get("failed"), answer


logs, cloudwatch, sns, cloudtrail = (client(s) for s in ("logs", "cloudwatch", "sns", "cloudtrail"))
logs.create_log_group(logGroupName="CloudTrail/bench")
cloudtrail.create_trail(
    Name="bench", S3BucketName="bench-bucket", IsMultiRegionTrail=True,
    CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:CloudTrail/bench:*",
    CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role")
cloudtrail.start_logging(Name="bench")
topic = sns.create_topic(Name="bench-alarms")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber)
wait_for("")  # the confirmation (no subject)
for i in range(probes):
    logs.put_metric_filter(
        logGroupName="CloudTrail/bench", filterName=f"Probe{i}",
        filterPattern=f'{{ ($.eventName = "Probe{i}") && ($.errorCode = "AccessDenied*") }}',
        metricTransformations=[{"metricName": f"Probe{i}", "metricNamespace": "Bench", "metricValue": "1"}])
    cloudwatch.put_metric_alarm(
        AlarmName=f"Probe{i}", Namespace="Bench", MetricName=f"Probe{i}", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching", AlarmActions=[topic])
# Let the alarms settle in OK (notBreaching), whose notifications nobody waits for.
time.sleep(12)

latencies, floors = [], []
for i in range(probes):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ingest({"eventVersion": "1.08", "eventTime": now, "eventSource": "ec2.amazonaws.com", "eventName": f"Probe{i}",
            "awsRegion": REGION, "sourceIPAddress": "203.0.113.7", "recipientAccountId": ACCOUNT,
            "errorCode": "AccessDenied", "errorMessage": "not allowed", "readOnly": False,
            "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management",
            "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": "mallory"}})
    acked = time.perf_counter()
    subject = f'ALARM: "Probe{i}" in US East (N. Virginia)'
    latencies.append(wait_for(subject) - acked)
    # The floor: the same delivery made directly.
    body = json.dumps({"Type": "Notification", "Subject": f"floor {i}", "Message": "x" * 900}).encode()
    sent = time.perf_counter()
    urllib.request.urlopen(urllib.request.Request(subscriber, data=body, method="POST"), timeout=10).read()
    floors.append(wait_for(f"floor {i}") - sent)
    time.sleep(random.uniform(0, 1.0))


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


print(json.dumps({
    "probes": probes,
    "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000, "max_ms": max(latencies) * 1000,
    "floor_p50_ms": pct(floors, 50) * 1000, "floor_p99_ms": pct(floors, 99) * 1000,
}))
