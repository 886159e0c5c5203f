#!/usr/bin/env python3
"""Send one SigV4-signed request (botocore's signer) to the example service, and print the
answer's status and body.

    examples/signed-request.py METHOD URL [SERVICE]

Credentials: botocore's usual chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, ...); region AWS_DEFAULT_REGION (default us-east-1); SERVICE default
`example` (examples/things.rs).
"""
import os
import sys
import urllib.error
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

method, url = sys.argv[1], sys.argv[2]
service = sys.argv[3] if len(sys.argv) > 3 else "example"
region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
credentials = botocore.session.Session().get_credentials()
if credentials is None:
    sys.exit("no AWS credentials in the environment")
request = AWSRequest(method=method, url=url, data=b"")
SigV4Auth(credentials, service, region).add_auth(request)
prepared = urllib.request.Request(url, data=None, headers=dict(request.headers), method=method)
try:
    with urllib.request.urlopen(prepared, timeout=10) as answer:
        print(answer.status, answer.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
