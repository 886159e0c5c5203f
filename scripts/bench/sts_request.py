#!/usr/bin/env python3
"""Write a wrk script that replays one SigV4-signed STS request (signed by botocore, the AWS
CLI's signer, with the demo user's key). SigV4 carries no nonce: a signed request stays valid
for the 15-minute skew window, so replaying it is what a client retrying would do, and each
AssumeRole replay mints a new session.

    sts_request.py URL ACTION > script.lua      ACTION: GetCallerIdentity | AssumeRole
"""
import sys
from urllib.parse import urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY, SECRET = "AKIAIDBROKERDEMO0001", "idbrokerDemoSecretKeyDoNotUseAnywhere000"
url, action = sys.argv[1].rstrip("/"), sys.argv[2]
params = {"Action": action, "Version": "2011-06-15"}
if action == "AssumeRole":
    params.update(RoleArn="arn:aws:iam::123456789012:role/demo/ReportsReader",
                  RoleSessionName="bench", DurationSeconds="900")
body = urlencode(params)
req = AWSRequest(method="POST", url=url + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1").add_auth(req)

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
