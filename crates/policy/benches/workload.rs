//! The benchmark workload, shared by `benches/policy.rs` and `examples/eval_loop.rs` so that
//! timings and instruction counts measure the same thing.

#![allow(clippy::expect_used)]

use idbroker_policy::{Context, Policy, PolicyKind, Principal, Request};

/// A 10-statement policy in the style of real ones: service wildcards, ARNs with wildcards and
/// variables, and conditions of several families. `n` varies names so policies differ.
pub fn policy_text(n: usize) -> String {
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{"Sid": "ReadOwnReports{n}", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
      "Resource": ["arn:aws:s3:::reports-{n}/${{aws:username}}/*", "arn:aws:s3:::reports-{n}"],
      "Condition": {{"StringEquals": {{"aws:PrincipalTag/team": ["data", "platform"]}}}}}},
    {{"Sid": "WriteUploads{n}", "Effect": "Allow", "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::uploads-{n}/*",
      "Condition": {{"Bool": {{"aws:SecureTransport": "true"}}, "NumericLessThanEquals": {{"s3:max-keys": "1000"}}}}}},
    {{"Sid": "Describe{n}", "Effect": "Allow", "Action": ["ec2:Describe*", "ec2:Get*"], "Resource": "*"}},
    {{"Sid": "Instances{n}", "Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"],
      "Resource": "arn:aws:ec2:*:123456789012:instance/*",
      "Condition": {{"StringEquals": {{"ec2:ResourceTag/Owner": "${{aws:username}}"}}}}}},
    {{"Sid": "Tables{n}", "Effect": "Allow", "Action": "dynamodb:*",
      "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/app-{n}-*",
      "Condition": {{"ForAllValues:StringLike": {{"dynamodb:LeadingKeys": ["${{aws:userid}}*"]}}}}}},
    {{"Sid": "Office{n}", "Effect": "Deny", "Action": "*", "Resource": "*",
      "Condition": {{"NotIpAddress": {{"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}, "Bool": {{"aws:ViaAWSService": "false"}}}}}},
    {{"Sid": "Window{n}", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
      "Condition": {{"DateGreaterThan": {{"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}}}},
    {{"Sid": "Logs{n}", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
      "Resource": "arn:aws:logs:*:123456789012:log-group:/app/{n}/*:*"}},
    {{"Sid": "Queues{n}", "Effect": "Allow", "NotAction": ["sqs:DeleteQueue", "sqs:Purge*"],
      "Resource": "arn:aws:sqs:us-east-1:123456789012:jobs-{n}-?"}},
    {{"Sid": "Kms{n}", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
      "Resource": "arn:aws:kms:us-east-1:123456789012:key/*",
      "Condition": {{"StringLike": {{"kms:ViaService": "s3.*.amazonaws.com"}}, "ArnLike": {{"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}}}}}}
  ]
}}"#
    )
}

pub fn request(bucket: usize) -> Request {
    let mut ctx = Context::new();
    ctx.insert("aws:username", "alice")
        .insert("aws:userid", "AIDAEXAMPLE")
        .insert("aws:PrincipalTag/team", "data")
        .insert("aws:PrincipalArn", "arn:aws:iam::123456789012:user/alice")
        .insert("aws:SourceIp", "203.0.113.9")
        .insert("aws:SecureTransport", "true")
        .insert("aws:ViaAWSService", "false")
        .insert("aws:CurrentTime", "2026-11-28T06:00:00Z");
    Request::new(
        "s3:GetObject",
        &format!("arn:aws:s3:::reports-{bucket}/alice/2026/q3.pdf"),
        ctx,
    )
    .with_principal(Principal::aws("arn:aws:iam::123456789012:user/alice"))
}

pub fn compile(n: usize) -> Policy {
    Policy::parse(&policy_text(n), PolicyKind::Identity).expect("bench policy is valid")
}
