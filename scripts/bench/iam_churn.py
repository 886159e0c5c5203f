#!/usr/bin/env python3
"""Change the directory through the IAM API as fast as one client can, for SECONDS: a tag on
the demo's ReportsReader role put and taken away, and its description changed (each a whole new
directory version, validated, written and put in force). Prints how many changes were made and
any error.

    iam_churn.py URL SECONDS
"""
import sys
import time

import boto3
import botocore.config

url, seconds = sys.argv[1], float(sys.argv[2])
iam = boto3.client(
    "iam", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id="AKIAIDBROKERIAMADM01",
    aws_secret_access_key="idbrokerIamAdminSecretDoNotUseAnywhere00",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)
changes, errors, i = 0, 0, 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    i += 1
    try:
        if i % 3 == 0:
            iam.update_role_description(RoleName="ReportsReader", Description=f"churn {i}")
        elif i % 3 == 1:
            iam.tag_role(RoleName="ReportsReader", Tags=[{"Key": "churn", "Value": str(i)}])
        else:
            iam.untag_role(RoleName="ReportsReader", TagKeys=["churn"])
        changes += 1
    except Exception as e:  # noqa: BLE001 - every failure is reported
        errors += 1
        print("churn error:", e, file=sys.stderr)
print(f"CHURN changes={changes} errors={errors} per_second={changes / seconds:.1f}")
