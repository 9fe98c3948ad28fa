"""An independent check of CloudTrail Lake's signed query results, written from AWS's documentation of the sign
file (not from any implementation): every listed file's SHA-256 matches its fileHashValue, and hashSignature is
SHA256withRSA over the hashes joined by single spaces, by the key whose fingerprint the file names.

Usage: verify_results.py <results dir> <list-public-keys output>   (needs the `rsa` package, an awscli dependency)
"""
import base64
import hashlib
import json
import os
import sys

import rsa

folder, keys_file = sys.argv[1], sys.argv[2]
with open(os.path.join(folder, "result_sign.json")) as f:
    sign = json.load(f)
assert sign["hashAlgorithm"] == "SHA-256" and sign["signatureAlgorithm"] == "SHA256withRSA", sign
assert sign["files"], "no files listed"
for entry in sign["files"]:
    with open(os.path.join(folder, entry["fileName"]), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == entry["fileHashValue"], (entry["fileName"], digest, entry["fileHashValue"])
with open(keys_file) as f:
    keys = {k["Fingerprint"]: k["Value"] for k in json.load(f)["PublicKeyList"]}
key = rsa.PublicKey.load_pkcs1(base64.b64decode(keys[sign["publicKeyFingerprint"]]), format="DER")
message = " ".join(e["fileHashValue"] for e in sign["files"]).encode()
rsa.verify(message, bytes.fromhex(sign["hashSignature"]), key)
print("query results verified")
