"""Helpers of the CLI monitoring scenario (tests/cli/monitoring.sh), run with the test venv's Python.

subscriber <port file> <out file>
    An HTTP endpoint for SNS: it checks every message's SignatureVersion 2 signature against the certificate at its
    SigningCertURL (as AWS's SNS message validation does), confirms subscriptions by visiting their SubscribeURL, and
    appends each verified notification to <out file> as a JSON line. It writes its port to <port file>.

ingest <endpoint> <access key> <secret> <records file>
    Sends a file of CloudTrail records to cairn's producer ingestion API (POST /v1/ingest), signed with SigV4 for the
    service `cairn` by botocore's signer.
"""

import base64
import http.server
import json
import sys
import threading
import urllib.request

FIELDS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
    "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
}


def verify(message):
    """Checks an SNS message's signature; raises if it does not verify."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    assert message["SignatureVersion"] == "2", message["SignatureVersion"]
    pem = urllib.request.urlopen(message["SigningCertURL"], timeout=10).read()
    cert = x509.load_pem_x509_certificate(pem)
    text = "".join(f"{k}\n{message[k]}\n" for k in FIELDS[message["Type"]] if k in message)
    signature = base64.b64decode(message["Signature"])
    cert.public_key().verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA256())


def subscriber(port_file, out_file):
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            message = json.loads(body)
            assert self.headers["x-amz-sns-message-type"] == message["Type"]
            verify(message)
            if message["Type"] == "SubscriptionConfirmation":
                urllib.request.urlopen(message["SubscribeURL"], timeout=10).read()
            with lock, open(out_file, "a") as out:
                out.write(json.dumps(message) + "\n")
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


def ingest(endpoint, key, secret, records_file):
    from awscli.botocore.auth import SigV4Auth
    from awscli.botocore.awsrequest import AWSRequest
    from awscli.botocore.credentials import Credentials

    body = open(records_file, "rb").read()
    request = AWSRequest(method="POST", url=f"{endpoint}/v1/ingest", data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(key, secret), "cairn", "us-east-1").add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
    assert not answer.get("failed"), answer
    print(json.dumps(answer))


if __name__ == "__main__":
    if sys.argv[1] == "subscriber":
        subscriber(*sys.argv[2:4])
    elif sys.argv[1] == "ingest":
        ingest(*sys.argv[2:6])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
