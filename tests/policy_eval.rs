//! Evaluation cases under tests/policy_eval/: one file per rule family, each case citing the AWS
//! rule it checks. Every case runs through the library and, all at once, through
//! `idbroker policy simulate --batch`, which must agree.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use idbroker::cli::policy_tool::simulate_line;
use serde_json::Value;

fn cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/policy_eval");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/policy_eval exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let family = doc["family"].as_str().unwrap_or("?").to_owned();
        for case in doc["cases"].as_array().expect("cases") {
            assert!(
                case["rule"].as_str().is_some_and(|r| !r.is_empty()),
                "{family}/{}: every case cites the rule it checks",
                case["id"]
            );
            out.push((
                format!("{family}/{}", case["id"].as_str().unwrap_or("?")),
                case.clone(),
            ));
        }
    }
    out
}

fn check(name: &str, case: &Value, answer: &Value, failures: &mut Vec<String>) {
    if let Some(err) = answer.get("error") {
        failures.push(format!("{name}: error {err}"));
        return;
    }
    let want = case["expect"].as_str().expect("expect");
    let got = answer["decision"].as_str().unwrap_or("?");
    if want != got {
        failures.push(format!(
            "{name}: expected {want}, got {got} ({})",
            case["rule"]
        ));
        return;
    }
    if let Some(sids) = case.get("expect_matched").and_then(Value::as_array) {
        let mut want: Vec<&str> = sids.iter().filter_map(Value::as_str).collect();
        let mut got: Vec<&str> = answer["matched"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["sid"].as_str())
            .collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            failures.push(format!("{name}: matched {got:?}, expected {want:?}"));
        }
    }
}

#[test]
fn evaluation_cases() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} evaluation cases", cases.len());
    let mut failures = Vec::new();
    for (name, case) in &cases {
        let answer = simulate_line(&case.to_string());
        check(name, case, &answer, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn batch_cli_agrees_with_library() {
    let cases = cases();
    let mut input = String::new();
    for (_, case) in &cases {
        input.push_str(&case.to_string());
        input.push('\n');
    }
    // A malformed line in the middle must get an error line, and the run must go on.
    input.push_str("{not json\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(["policy", "simulate", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run idbroker");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len() + 1);
    for ((name, case), line) in cases.iter().zip(&lines) {
        assert_eq!(line, &simulate_line(&case.to_string()), "{name}");
        assert_eq!(line["id"], case["id"], "{name}: id passed through");
    }
    assert!(lines.last().unwrap().get("error").is_some());
}
