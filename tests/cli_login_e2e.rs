//! `idbroker login` and `idbroker credentials` end to end: the real binary in a temporary HOME,
//! headless Chromium (tests/browser/run.mjs) signing in at the pysaml2 IdP or at panva's
//! oidc-provider (the console tests' peers, common::browser), and the unmodified AWS CLI using
//! what the login wrote: (a) SAML, the loopback redirect, a profile in ~/.aws/credentials that
//! keeps every other byte of the file; (b) OIDC, `credential_process` in ~/.aws/config served
//! from the cache, and a cache near expiry refused at once when no terminal can open a browser;
//! (c) the device flow, the code entered in a browser of its own. The server-side refusals
//! (non-loopback redirect, wrong PKCE verifier, replayed code) are tests/cli_signin.rs.
//!
//! Needs what tests/console_e2e.rs needs, and the AWS CLI; skipped without them except in CI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::browser::Setup;
use idbroker::clock::Stopwatch;

const READ_ONLY: &str = "arn:aws:iam::111122223333:role/console/ReadOnly";

/// A temporary HOME with nothing of the runner's AWS settings.
fn home(setup: &Setup, name: &str) -> PathBuf {
    let h = setup.dir.join(format!("home-{name}"));
    std::fs::create_dir_all(&h).unwrap();
    h
}

/// `cmd` with only PATH and `home` from the environment.
fn isolated(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1");
}

/// `idbroker ARGS` started in `home` (stdin not a terminal), and the first line of its standard
/// error that contains `needle`.
fn idbroker(
    home: &Path,
    args: &[&str],
    needle: &'static str,
) -> (Child, String, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idbroker"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolated(&mut cmd, home);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let (all_tx, all_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && line.contains(needle) {
                let _ = tx.send(line.clone());
                sent = true;
            }
            let _ = all_tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            let said: Vec<String> = all_rx.try_iter().collect();
            panic!("idbroker {args:?} printed no line with {needle:?}: {said:?}")
        });
    (child, line, all_rx)
}

/// Wait (bounded) for `child` to end.
fn finish(mut child: Child, said: &mpsc::Receiver<String>) -> (bool, String, String) {
    let waiting = Stopwatch::start();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if waiting.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr: Vec<String> = said.try_iter().collect();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr.join("\n"),
    )
}

/// The unmodified AWS CLI in `home`: `aws sts get-caller-identity --profile PROFILE`.
fn caller_identity(url: &str, home: &Path, profile: &str) -> Output {
    let mut cmd = Command::new("aws");
    cmd.args(["sts", "get-caller-identity", "--output", "json"])
        .args([
            "--endpoint-url",
            url,
            "--region",
            "us-east-1",
            "--profile",
            profile,
        ])
        .stdin(Stdio::null());
    isolated(&mut cmd, home);
    cmd.output().unwrap()
}

fn arn_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Arn"].as_str().unwrap().to_owned()
}

/// Set every `Expiration`/`expiration` of a cache file's JSON to `at`; whether there was one.
fn set_expiration(v: &mut serde_json::Value, at: &str) -> bool {
    let mut found = false;
    if let Some(map) = v.as_object_mut() {
        for (k, val) in map.iter_mut() {
            if k.eq_ignore_ascii_case("expiration") && val.is_string() {
                *val = serde_json::Value::String(at.to_owned());
                found = true;
            } else {
                found |= set_expiration(val, at);
            }
        }
    }
    found
}

fn setup(name: &str) -> Option<Setup> {
    if !common::iam::have_aws_cli() {
        common::skip_or_fail("the AWS CLI (aws) is not installed");
        return None;
    }
    Setup::start(name)
}

/// The URL `idbroker login --no-browser` printed on its line.
fn url_in(line: &str) -> String {
    line.split_whitespace()
        .find_map(|w| {
            let w = w.trim_start_matches(['(', '<']);
            w.starts_with("http")
                .then(|| w.trim_end_matches([')', '>', '.', ',']))
        })
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned()
}

const BEFORE: &str = "# my keys; idbroker must not touch this comment\n[default]\naws_access_key_id = AKIAEXAMPLEDEFAULT01\naws_secret_access_key = keep/this+secret   \n\n";
const WORK: &str = "[work]\n# the work profile: idbroker writes here\naws_access_key_id=OLDKEY\n\n";
const AFTER: &str =
    "[zeta]\r\naws_access_key_id = AKIAZETA\r\n; a comment, CRLF lines, no newline at the end";

#[test]
fn login_saml_writes_a_profile_the_aws_cli_uses() {
    let Some(setup) = setup("cli-saml") else {
        return;
    };
    let home = home(&setup, "saml");
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    let file = aws.join("credentials");
    std::fs::write(&file, format!("{BEFORE}{WORK}{AFTER}")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let (child, line, said) = idbroker(
        &home,
        &[
            "login",
            "--endpoint-url",
            &setup.url,
            "--provider",
            "TestIdP",
            "--role",
            READ_ONLY,
            "--profile",
            "work",
            "--no-browser",
            "--timeout",
            "120",
        ],
        "/console/cli/start?",
    );
    let (passed, text) = setup.browser(
        "cli-saml",
        &[("CLI_URL", &url_in(&line)), ("CLI_USER", "bob")],
    );
    let (ok, _, err) = finish(child, &said);
    assert!(
        passed,
        "browser:\n{text}\nidbroker log:\n{}",
        setup.server_log()
    );
    assert!(ok, "idbroker login failed: {err}");

    // Every byte of the file but the profile's keys is kept; the file is 0600.
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with(BEFORE), "{written}");
    assert!(written.ends_with(AFTER), "{written}");
    let work = &written[BEFORE.len()..written.len() - AFTER.len()];
    assert!(
        work.starts_with("[work]\n# the work profile: idbroker writes here\n"),
        "{work}"
    );
    assert!(!work.contains("OLDKEY"), "{work}");
    assert!(work.contains("aws_access_key_id"), "{work}");
    assert!(work.contains("aws_session_token"), "{work}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let arn = arn_of(&caller_identity(&setup.url, &home, "work"));
    assert_eq!(
        arn,
        "arn:aws:sts::111122223333:assumed-role/ReadOnly/bob@example.com"
    );
    setup.passed();
}

#[test]
fn login_oidc_then_credential_process() {
    let Some(setup) = setup("cli-oidc") else {
        return;
    };
    let home = home(&setup, "oidc");
    let bin = env!("CARGO_BIN_EXE_idbroker");
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile cp]\nregion = us-east-1\ncredential_process = {bin} credentials --profile cp --endpoint-url {} --provider TestOP --role {READ_ONLY}\n",
            setup.url
        ),
    )
    .unwrap();

    // Signing in fills the profile's cache (and, here, prints exports instead of writing the
    // credentials file).
    let (child, line, said) = idbroker(
        &home,
        &[
            "login",
            "--endpoint-url",
            &setup.url,
            "--provider",
            "TestOP",
            "--role",
            READ_ONLY,
            "--profile",
            "cp",
            "--no-browser",
            "--env",
            "--timeout",
            "120",
        ],
        "/console/cli/start?",
    );
    let (passed, text) = setup.browser(
        "cli-oidc",
        &[("CLI_URL", &url_in(&line)), ("CLI_USER", "dave")],
    );
    let (ok, out, err) = finish(child, &said);
    assert!(
        passed,
        "browser:\n{text}\nidbroker log:\n{}",
        setup.server_log()
    );
    assert!(ok, "idbroker login failed: {err}");
    assert!(out.contains("export AWS_ACCESS_KEY_ID=ASIA"), "{out}");
    assert!(!aws.join("credentials").exists(), "--env writes no file");

    // The AWS CLI runs `idbroker credentials`, which answers from the cache.
    let arn = arn_of(&caller_identity(&setup.url, &home, "cp"));
    assert_eq!(
        arn,
        "arn:aws:sts::111122223333:assumed-role/ReadOnly/dave@example.com"
    );

    // The cache near its expiry: signing in again needs a browser, and the AWS CLI's
    // credential_process has no terminal: refused at once, saying what to run.
    let cache = home.join(".cache/idbroker/credentials/cp.json");
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let soon = idbroker::clock::iso8601(
        idbroker::clock::Clock::now(&idbroker::clock::SystemClock) + Duration::from_secs(120),
    );
    let replaced = set_expiration(&mut v, &soon);
    assert!(replaced, "no expiration in the cache: {v}");
    std::fs::write(&cache, v.to_string()).unwrap();
    let waiting = Stopwatch::start();
    let out = caller_identity(&setup.url, &home, "cp");
    assert!(!out.status.success());
    assert!(
        waiting.elapsed() < Duration::from_secs(20),
        "refused at once, not after waiting for a browser"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("idbroker login"), "{err}");
    setup.passed();
}

#[test]
fn device_flow_signs_in_from_another_browser() {
    let Some(setup) = setup("cli-device") else {
        return;
    };
    let home = home(&setup, "device");
    let (child, line, said) = idbroker(
        &home,
        &[
            "login",
            "--endpoint-url",
            &setup.url,
            "--provider",
            "TestIdP",
            "--role",
            READ_ONLY,
            "--profile",
            "dev",
            "--device",
            "--timeout",
            "120",
        ],
        "/console/device?user_code=",
    );
    let complete = url_in(&line);
    let code = complete.rsplit('=').next().unwrap().replace("%2D", "-");
    let (passed, text) = setup.browser(
        "cli-device",
        &[
            ("DEVICE_URL", &complete),
            ("DEVICE_CODE", &code),
            ("CLI_USER", "bob"),
        ],
    );
    let (ok, _, err) = finish(child, &said);
    assert!(
        passed,
        "browser:\n{text}\nidbroker log:\n{}",
        setup.server_log()
    );
    assert!(ok, "idbroker login --device failed: {err}");
    let arn = arn_of(&caller_identity(&setup.url, &home, "dev"));
    assert_eq!(
        arn,
        "arn:aws:sts::111122223333:assumed-role/ReadOnly/bob@example.com"
    );
    setup.passed();
}
