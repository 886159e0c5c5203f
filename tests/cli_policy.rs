//! `idbroker policy lint` and `idbroker policy simulate` as a person or a script runs them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn idbroker(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run idbroker");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn lint_accepts_the_examples() {
    let o = idbroker(
        &[
            "policy",
            "lint",
            "examples/policies/reports-reader.json",
            "examples/policies/okta-trust.json",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("okta-trust.json: ok (trust policy)"));
}

#[test]
fn lint_reports_aws_message_and_exits_1() {
    let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"*"}}"#;
    let o = idbroker(&["policy", "lint", "-"], doc);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Actions/Condition can contain only one colon."));
}

#[test]
fn lint_json_lists_warnings_with_codes() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
    let o = idbroker(&["policy", "lint", "--json", "-"], doc);
    assert_eq!(o.status.code(), Some(0));
    let findings: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let codes: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["full-access", "allow-not-action"]);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[1]["statement"], 1);
}

#[test]
fn lint_kind_decides_principal_rules() {
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}"#;
    let o = idbroker(&["policy", "lint", "--kind", "identity", "-"], trust);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Policy document should not specify a principal."));
    let o = idbroker(&["policy", "lint", "--kind", "trust", "-"], trust);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn simulate_single_case_from_the_readme() {
    let base = [
        "policy",
        "simulate",
        "--policy",
        "examples/policies/reports-reader.json",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::reports/alice/q3.pdf",
        "--context",
        "aws:username=alice",
    ];
    let mut office = base.to_vec();
    office.extend(["--context", "aws:SourceIp=203.0.113.9"]);
    let o = idbroker(&office, "");
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("Allow\n"));
    assert!(stdout(&o).contains("Sid ReadOwnReports"));

    let mut elsewhere = base.to_vec();
    elsewhere.extend(["--context", "aws:SourceIp=10.0.0.1", "--json"]);
    let o = idbroker(&elsewhere, "");
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["decision"], "ExplicitDeny");
    assert_eq!(v["matched"][0]["sid"], "OnlyFromOffice");

    // Someone else's folder: nothing allows.
    let mut other = base.to_vec();
    other[7] = "arn:aws:s3:::reports/bob/q3.pdf";
    other.extend(["--context", "aws:SourceIp=203.0.113.9"]);
    let o = idbroker(&other, "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("ImplicitDeny\n"));
}

#[test]
fn simulate_usage_errors_exit_2() {
    let o = idbroker(
        &[
            "policy",
            "simulate",
            "--policy",
            "/nonexistent.json",
            "--action",
            "s3:x",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent.json"));
}
