#!/usr/bin/env python3
"""Write a wrk script that replays one SigV4-signed request (signed by botocore, the AWS
CLI's signer). SigV4 carries no nonce: a signed request stays valid for the 15-minute skew
window, so replaying it is what a client retrying would do, and each AssumeRole replay mints a
new session.

    sts_request.py URL ACTION > script.lua      ACTION: GetCallerIdentity | AssumeRole | Verify
    (run wrk against URL/ for the STS actions, URL/verify for Verify)

GetCallerIdentity and AssumeRole are STS calls with the demo user's key. Verify is a POST /verify
by the demo's reports-service (its own key, service `idbroker`) about a GET of
https://reports.example.com/reports/q3.pdf signed for the `reports` service with a ReportsReader
session (AssumeRole made here, against URL), asking for s3:GetObject on arn:aws:s3:::reports/q3.pdf
(Allow).
"""
import hashlib
import json
import sys
from urllib.parse import urlencode

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY, SECRET = "AKIAIDBROKERDEMO0001", "idbrokerDemoSecretKeyDoNotUseAnywhere000"
SVC_KEY, SVC_SECRET = "AKIAIDBROKERDEMOSVC1", "idbrokerDemoServiceSecretDoNotUseIt00000"
url, action = sys.argv[1].rstrip("/"), sys.argv[2]


def verify_request():
    sts = botocore.session.get_session().create_client(
        "sts", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                        RoleSessionName="bench-verify", DurationSeconds=3600)["Credentials"]
    inner = AWSRequest(method="GET", url="https://reports.example.com/reports/q3.pdf",
                       headers={"Host": "reports.example.com"})
    SigV4Auth(Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]),
              "reports", "us-east-1").add_auth(inner)
    doc = {"service": "reports", "method": "GET", "path": "/reports/q3.pdf", "query": "",
           "headers": [[k, v] for k, v in inner.headers.items()],
           "body_sha256": hashlib.sha256(b"").hexdigest(),
           "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q3.pdf"}
    req = AWSRequest(method="POST", url=url + "/verify", data=json.dumps(doc),
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(SVC_KEY, SVC_SECRET), "idbroker", "us-east-1").add_auth(req)
    return req


if action == "Verify":
    req = verify_request()
else:
    params = {"Action": action, "Version": "2011-06-15"}
    if action == "AssumeRole":
        params.update(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                      RoleSessionName="bench", DurationSeconds="900")
    req = AWSRequest(method="POST", url=url + "/", data=urlencode(params),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1").add_auth(req)
body = req.data


def lua(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

print('wrk.method = "POST"')
print(f"wrk.body = {lua(body)}")
for k in ("Content-Type", "X-Amz-Date", "Authorization"):
    print(f"wrk.headers[{lua(k)}] = {lua(req.headers[k])}")
print('''done = function(summary, latency, requests)
  io.write(string.format("ERRS non2xx=%d connect=%d read=%d write=%d timeout=%d\\n", summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("LAT p50=%.3fms p99=%.3fms max=%.3fms\\n", latency:percentile(50)/1000,
    latency:percentile(99)/1000, latency.max/1000))
end''')
