"""An IAM life cycle with boto3 against idbroker (tests/iam_api.rs runs it).

argv: ENDPOINT_URL. The demo's IAM administrator and demo user keys are in the environment
(ADMIN_KEY, ADMIN_SECRET, USER_KEY, USER_SECRET). Prints one line per step; exits non-zero on
the first surprise.
"""
import json
import os
import sys

import boto3
import botocore.config
import botocore.exceptions

url = sys.argv[1]

def client(service, key, secret):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )

iam = client("iam", os.environ["ADMIN_KEY"], os.environ["ADMIN_SECRET"])
user_sts = client("sts", os.environ["USER_KEY"], os.environ["USER_SECRET"])


def code_of(call, **kw):
    try:
        call(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded")


trust = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/demo"},
                   "Action": "sts:AssumeRole"}],
}
role = iam.create_role(RoleName="Boto", AssumeRolePolicyDocument=json.dumps(trust),
                       MaxSessionDuration=7200)["Role"]
assert role["Arn"] == "arn:aws:iam::123456789012:role/Boto", role
assert role["AssumeRolePolicyDocument"] == trust, role["AssumeRolePolicyDocument"]
print("create_role ok")

inline = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
iam.put_role_policy(RoleName="Boto", PolicyName="list", PolicyDocument=json.dumps(inline))
got = iam.get_role_policy(RoleName="Boto", PolicyName="list")
assert got["PolicyDocument"] == inline, got
assert iam.list_role_policies(RoleName="Boto")["PolicyNames"] == ["list"]
print("inline policy ok")

names = []
for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 2}):
    names += [r["RoleName"] for r in page["Roles"]]
assert "Boto" in names and len(names) == len(set(names)), names
print("paginated list_roles ok:", len(names))

creds = user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="boto", DurationSeconds=7200)
assert creds["AssumedRoleUser"]["Arn"].endswith("assumed-role/Boto/boto"), creds
print("assume_role ok")

iam.create_user(UserName="boto-user", Tags=[{"Key": "team", "Value": "data"}])
k1 = iam.create_access_key(UserName="boto-user")["AccessKey"]
me = client("sts", k1["AccessKeyId"], k1["SecretAccessKey"]).get_caller_identity()
assert me["Arn"] == "arn:aws:iam::123456789012:user/boto-user", me
last = iam.get_access_key_last_used(AccessKeyId=k1["AccessKeyId"])["AccessKeyLastUsed"]
assert last["ServiceName"] == "sts" and "LastUsedDate" in last, last
k2 = iam.create_access_key(UserName="boto-user")["AccessKey"]
iam.update_access_key(UserName="boto-user", AccessKeyId=k1["AccessKeyId"], Status="Inactive")
assert code_of(client("sts", k1["AccessKeyId"], k1["SecretAccessKey"]).get_caller_identity) == "InvalidClientTokenId"
client("sts", k2["AccessKeyId"], k2["SecretAccessKey"]).get_caller_identity()
iam.delete_access_key(UserName="boto-user", AccessKeyId=k1["AccessKeyId"])
assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="boto-user")["AccessKeyMetadata"]] == [k2["AccessKeyId"]]
print("key rotation ok")

assert code_of(iam.delete_role, RoleName="Boto") == "DeleteConflict"
iam.delete_role_policy(RoleName="Boto", PolicyName="list")
iam.delete_role(RoleName="Boto")
assert code_of(iam.get_role, RoleName="Boto") == "NoSuchEntity"
assert code_of(client("iam", os.environ["USER_KEY"], os.environ["USER_SECRET"]).list_users) == "AccessDenied"
print("delete and errors ok")
