#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! moto's IAM policy validation cases (tests/data/iam-policy): 78 documents IAM refuses,
//! with the exact `MalformedPolicyDocument` message AWS returns, and 54 it accepts.

use std::path::PathBuf;

use idbroker_policy::{Policy, PolicyKind};
use serde_json::Value;

/// The repository's test corpora (tests/data), two levels above this crate.
fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

fn corpus() -> Value {
    let path = testdata().join("iam-policy/moto_policy_validation_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("corpus is JSON")
}

fn doc_text(doc: &Value) -> String {
    match doc {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).expect("serialize"),
    }
}

#[test]
fn invalid_documents_give_aws_messages() {
    let c = corpus();
    let cases = c["invalid_policy_document_test_cases"]
        .as_array()
        .expect("list");
    assert_eq!(cases.len(), 78);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let text = doc_text(&case["document"]);
        let want = case["error_message"].as_str().expect("message");
        match Policy::parse(&text, PolicyKind::Identity) {
            Ok(_) => failures.push(format!("#{i}: accepted, want {want:?}\n  {text}")),
            Err(e) if e.message() != want => failures.push(format!(
                "#{i}: got {:?}, want {want:?}\n  {text}",
                e.message()
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 78 wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn valid_documents_are_accepted() {
    let c = corpus();
    let docs = c["valid_policy_documents"].as_array().expect("list");
    assert_eq!(docs.len(), 54);
    let mut failures = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let text = doc_text(doc);
        if let Err(e) = Policy::parse(&text, PolicyKind::Identity) {
            failures.push(format!("#{i}: {e}\n  {text}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 54 wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
