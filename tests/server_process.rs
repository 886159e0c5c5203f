//! The `idbroker` binary run as a separate process, the way an operator runs it: HTTPS with a
//! certificate made by certs/make-dev-tls.sh, called by aws-sdk-sts trusting only that CA; the
//! certificate replaced on SIGHUP (and a broken replacement ignored); SIGTERM letting an
//! in-flight request finish while new connections are refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use idbroker::clock::{Clock, Stopwatch};

mod common;
use common::{KEY, READER, SECRET};

/// Upper bound for anything this file waits on (a process starting, a signal being handled).
const PATIENCE: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idbroker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh CA and localhost certificate in `dir`, made by the script the repository ships.
fn make_pair(dir: &Path) {
    let out = Command::new("bash")
        .arg(root().join("certs/make-dev-tls.sh"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Where its metrics listener is (`IDBROKER_METRICS_LISTEN`).
    metrics_port: u16,
    log: PathBuf,
}

/// The port of the address a start-up log line (`message`) reports in its `listen` field.
fn bound_port(log: &str, message: &str) -> Option<u16> {
    log.lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let fields = v.get("fields")?;
        if fields.get("message")?.as_str()? != message {
            return None;
        }
        let addr: std::net::SocketAddr = fields.get("listen")?.as_str()?.parse().ok()?;
        Some(addr.port())
    })
}

impl Server {
    /// `idbroker serve` on the demo configuration, with extra environment. Both listeners bind
    /// port 0; their ports are read back from the start-up log lines that name the addresses
    /// bound ("idbroker serving", "metrics served on their own listener").
    fn start(dir: &Path, env: &[(&str, &Path)]) -> Server {
        Self::start_with(dir, &root().join("config/demo/idbroker.toml"), env)
    }

    /// As [`Server::start`], with the configuration file `config`.
    fn start_with(dir: &Path, config: &Path, env: &[(&str, &Path)]) -> Server {
        let log = dir.join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idbroker"));
        cmd.args(["serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("IDBROKER_METRICS_LISTEN", "127.0.0.1:0")
            .env("IDBROKER_LOG", "info")
            .env_remove("IDBROKER_STORE_URL")
            .env_remove("IDBROKER_STORE_KIND")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("server.err")).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut server = Server {
            child: cmd.spawn().unwrap(),
            port: 0,
            metrics_port: 0,
            log,
        };
        let start = Stopwatch::start();
        loop {
            let log = server.log();
            if let (Some(port), Some(metrics_port)) = (
                bound_port(&log, "idbroker serving"),
                bound_port(&log, "metrics served on their own listener"),
            ) {
                (server.port, server.metrics_port) = (port, metrics_port);
                break;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "idbroker serve exited ({status}) before listening\n{log}\n{}",
                    std::fs::read_to_string(dir.join("server.err")).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < PATIENCE,
                "gave up waiting for the listening addresses\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.pid()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Poll `cond` until it holds; the bound is generous because CI machines are slow.
    fn wait_for(&self, mut cond: impl FnMut() -> bool, what: &str) {
        let start = Stopwatch::start();
        while !cond() {
            assert!(
                start.elapsed() < PATIENCE,
                "gave up waiting for: {what}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The audit records (CloudTrail's shape: the lines with `eventVersion`) named `event_name`.
fn audit_records(log: &str, event_name: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter(|l| l.starts_with(r#"{"eventVersion":"#))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["eventName"] == event_name)
        .collect()
}

/// aws-sdk-sts over HTTPS, trusting only the CA in `ca` (no system roots).
fn sdk(port: u16, ca: &Path, token: Option<(&str, &str, &str)>) -> aws_sdk_sts::Client {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(std::fs::read(ca).unwrap());
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .unwrap(),
        )
        .build_https();
    let creds = match token {
        Some((k, s, t)) => Credentials::new(k, s, Some(t.to_owned()), None, "test"),
        None => Credentials::new(KEY, SECRET, None, None, "test"),
    };
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("https://localhost:{port}"))
        .http_client(http)
        .credentials_provider(creds)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

async fn whoami(port: u16, ca: &Path) -> Result<String, String> {
    sdk(port, ca, None)
        .get_caller_identity()
        .send()
        .await
        .map(|r| r.arn().unwrap_or_default().to_owned())
        .map_err(|e| format!("{e:?}"))
}

fn install(from: &Path, live: &Path) {
    std::fs::copy(from.join("server.key"), live.join("server.key")).unwrap();
    std::fs::copy(from.join("server.crt"), live.join("server.crt")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_process_with_the_sdk_and_certificate_reload_on_sighup() {
    let dir = scratch("tls-process");
    let (a, b, live) = (dir.join("a"), dir.join("b"), dir.join("live"));
    make_pair(&a);
    make_pair(&b);
    std::fs::create_dir_all(&live).unwrap();
    install(&a, &live);
    let server = Server::start(
        &dir,
        &[
            ("IDBROKER_TLS_CERT", &live.join("server.crt")),
            ("IDBROKER_TLS_KEY", &live.join("server.key")),
        ],
    );
    let port = server.port;

    // The SDK trusting CA a: the whole flow over HTTPS.
    assert_eq!(
        whoami(port, &a.join("ca.crt")).await.unwrap(),
        "arn:aws:iam::123456789012:user/demo"
    );
    let assumed = sdk(port, &a.join("ca.crt"), None)
        .assume_role()
        .role_arn(READER)
        .role_session_name("over-https")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let me = sdk(
        port,
        &a.join("ca.crt"),
        Some((c.access_key_id(), c.secret_access_key(), c.session_token())),
    )
    .get_caller_identity()
    .send()
    .await
    .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/ReportsReader/over-https")
    );
    // One audit record per call (CloudTrail's shape), naming who, what and what was issued,
    // and no secret at all. Workers write their log lines in batches, at least every 50 ms.
    server.wait_for(
        || !audit_records(&server.log(), "AssumeRole").is_empty(),
        "an audit record for AssumeRole",
    );
    let log = server.log();
    let event = audit_records(&log, "AssumeRole").remove(0);
    assert_eq!(event["eventSource"], "sts.amazonaws.com");
    assert_eq!(event["userIdentity"]["type"], "IAMUser");
    assert_eq!(
        event["userIdentity"]["arn"],
        "arn:aws:iam::123456789012:user/demo"
    );
    assert_eq!(
        event["requestParameters"]["roleArn"],
        "arn:aws:iam::123456789012:role/demo/ReportsReader"
    );
    assert_eq!(
        event["responseElements"]["assumedRoleUser"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/ReportsReader/over-https"
    );
    assert_eq!(
        event["responseElements"]["credentials"]["accessKeyId"],
        c.access_key_id()
    );
    assert_eq!(event["sourceIPAddress"], "127.0.0.1");
    assert!(event["requestID"].as_str().is_some_and(|r| r.len() == 36));
    for secret in [SECRET, c.secret_access_key(), c.session_token()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }

    // A client trusting only CA b refuses the server: the certificate is really a's.
    assert!(whoami(port, &b.join("ca.crt")).await.is_err());

    // Rotate to b and signal: new handshakes present b.
    install(&b, &live);
    server.signal("HUP");
    let start = Stopwatch::start();
    loop {
        if whoami(port, &b.join("ca.crt")).await.is_ok() {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "b never served\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(whoami(port, &a.join("ca.crt")).await.is_err());
    assert!(server.log().contains("TLS certificate reloaded"));

    // A broken key (a rotation caught half-way) is refused and b stays in service.
    std::fs::write(live.join("server.key"), "-----BEGIN PRIVATE KEY-----\nAAAA").unwrap();
    server.signal("HUP");
    server.wait_for(
        || server.log().contains("TLS certificate reload failed"),
        "the failed reload to be logged",
    );
    assert_eq!(
        whoami(port, &b.join("ca.crt")).await.unwrap(),
        "arn:aws:iam::123456789012:user/demo"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_to_start_on_a_key_that_is_not_the_certificates() {
    let dir = scratch("tls-mismatch");
    let (a, b) = (dir.join("a"), dir.join("b"));
    make_pair(&a);
    make_pair(&b);
    let out = Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(["check-config"])
        .arg(root().join("config/demo/idbroker.toml"))
        .env("IDBROKER_TLS_CERT", a.join("server.crt"))
        .env("IDBROKER_TLS_KEY", b.join("server.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.tls_cert"), "{err}");
    assert!(err.contains("do not make a usable pair"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Read one HTTP/1.1 response with a Content-Length body from `s`.
fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).unwrap(),
            1,
            "connection closed mid-headers"
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head + &String::from_utf8(body).unwrap()
}

#[test]
fn sigterm_lets_the_in_flight_request_finish_and_refuses_new_connections() {
    let dir = scratch("graceful");
    let mut server = Server::start(&dir, &[]);
    let port = server.port;
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    // A request the server has certainly started on: its headers are read (it answers
    // `100 Continue`), its body not yet sent, when the server is told to stop.
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 100 Continue"));
    server.signal("TERM");
    server.wait_for(
        || TcpStream::connect(("127.0.0.1", port)).is_err(),
        "new connections to be refused",
    );

    // The in-flight request still gets its whole answer (unsigned, so STS's error for that).
    s.write_all(body.as_bytes()).unwrap();
    let answer = read_response(&mut s);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("<ErrorResponse"), "{answer}");
    drop(s);

    let start = Stopwatch::start();
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(start.elapsed() < PATIENCE, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(server.log().contains("idbroker stopped"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `idbroker admin revoke` run as a process.
fn cli_revoke(args: &[&str], keys: Option<(&str, &str)>) -> std::process::Output {
    common::admin::command("revoke", args, keys)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_revoke_cli_against_the_running_server_over_https() {
    const ADMIN: (&str, &str) = (
        "AKIAIDBROKERADMIN001",
        "idbrokerAdminSecretKeyDoNotUseAnywhere00",
    );
    let dir = scratch("admin-cli");
    make_pair(&dir);
    let server = Server::start(
        &dir,
        &[
            ("IDBROKER_TLS_CERT", &dir.join("server.crt")),
            ("IDBROKER_TLS_KEY", &dir.join("server.key")),
        ],
    );
    let (port, ca) = (server.port, dir.join("ca.crt"));
    let url = format!("https://localhost:{port}");
    let ca_arg = ca.to_str().unwrap();
    let assume = |name: &'static str| {
        let ca = ca.clone();
        async move {
            let out = sdk(port, &ca, None)
                .assume_role()
                .role_arn(READER)
                .role_session_name(name)
                .send()
                .await
                .unwrap();
            let c = out.credentials().unwrap();
            (
                c.access_key_id().to_owned(),
                c.secret_access_key().to_owned(),
                c.session_token().to_owned(),
            )
        }
    };
    let whoami_with = |c: &(String, String, String)| {
        let (ca, c) = (ca.clone(), c.clone());
        async move {
            sdk(port, &ca, Some((c.0.as_str(), c.1.as_str(), c.2.as_str())))
                .get_caller_identity()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| common::sdk_code(&e))
        }
    };
    let victim = assume("cli-victim").await;
    whoami_with(&victim).await.unwrap();
    let id = victim.0.as_str();
    let base = ["--endpoint-url", url.as_str(), "--ca-bundle", ca_arg];

    // No credentials: exit 2, nothing sent.
    let out = cli_revoke(&[&["--access-key-id", id][..], &base[..]].concat(), None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"));
    // Without the dev CA, the server's certificate is not trusted: exit 3.
    let out = cli_revoke(
        &["--access-key-id", id, "--endpoint-url", url.as_str()],
        Some(ADMIN),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // The demo user's policies allow no idbroker:Revoke* action: refused, exit 1.
    let out = cli_revoke(
        &[&["--access-key-id", id][..], &base[..]].concat(),
        Some((KEY, SECRET)),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(err.contains("idbroker:RevokeSession"), "{err}");
    whoami_with(&victim).await.unwrap();

    // The admin revokes it: exit 0, and the server refuses the session from then on.
    let out = cli_revoke(
        &[&["--access-key-id", id][..], &base[..]].concat(),
        Some(ADMIN),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "revoked session {id} (arn:aws:sts::123456789012:assumed-role/ReportsReader/cli-victim)"
        )),
        "{said}"
    );
    assert_eq!(
        whoami_with(&victim).await.unwrap_err(),
        "InvalidClientTokenId"
    );
    // Again: there is no such live session any more (exit 1, NoSuchEntity).
    let out = cli_revoke(
        &[&["--access-key-id", id][..], &base[..]].concat(),
        Some(ADMIN),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoSuchEntity"));

    // Every session of the role, with JSON output.
    let other = assume("cli-other").await;
    whoami_with(&other).await.unwrap();
    let out = cli_revoke(
        &[&["--role", READER, "--json"][..], &base[..]].concat(),
        Some(ADMIN),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["Action"], "idbroker:RevokeOlderSessions");
    assert_eq!(doc["Resource"], READER);
    assert_eq!(
        whoami_with(&other).await.unwrap_err(),
        "InvalidClientTokenId"
    );
    // --before goes with --role only: exit 2, nothing sent.
    let out = cli_revoke(
        &[
            &[
                "--principal",
                "arn:aws:iam::123456789012:user/demo",
                "--before",
                "2026-01-01T00:00:00Z",
            ][..],
            &base[..],
        ]
        .concat(),
        Some(ADMIN),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // One audit record per admin call, naming the caller and what was revoked; no secret logged.
    // Workers write their log lines in batches, at least every 50 ms.
    let revoked = |log: &str| {
        audit_records(log, "RevokeSession")
            .into_iter()
            .find(|e| e.get("errorCode").is_none())
    };
    server.wait_for(
        || revoked(&server.log()).is_some(),
        "an audit record for RevokeSession",
    );
    let log = server.log();
    let event = revoked(&log).unwrap();
    assert_eq!(event["eventSource"], "idbroker.amazonaws.com");
    assert_eq!(
        event["userIdentity"]["arn"],
        "arn:aws:iam::123456789012:user/security-admin"
    );
    assert_eq!(event["requestParameters"]["accessKeyId"], id);
    assert_eq!(event["responseElements"]["accessKeyId"], id);
    assert!(audit_records(&log, "RevokeSession")
        .iter()
        .any(|e| e["errorCode"] == "AccessDenied"));
    for secret in [ADMIN.1, SECRET, victim.1.as_str(), victim.2.as_str()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `GET path` on `port` over plain HTTP, with extra header lines; the whole response.
fn http_get(port: u16, path: &str, extra: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Issue 13, item 7: SIGHUP on a server without TLS (only the unchanged directory to reload)
/// must not stop it.
#[test]
fn sighup_without_tls_keeps_serving() {
    let dir = scratch("sighup-plain");
    let mut server = Server::start(&dir, &[]);
    let port = server.port;
    assert!(http_get(port, "/healthz", "").starts_with("HTTP/1.1 200"));
    // Twice: the handler stays installed after the first signal.
    for n in 1..=2 {
        server.signal("HUP");
        server.wait_for(
            || {
                // The demo keeps its directory in a database (not reloaded from the file).
                server
                    .log()
                    .matches("the directory is kept in the database")
                    .count()
                    >= n
                    || TcpStream::connect(("127.0.0.1", port)).is_err()
            },
            "the SIGHUP to be handled",
        );
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP stopped the server\n{}",
        server.log()
    );
    let answer = http_get(port, "/healthz", "");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 13, item 7: /metrics is not public on the API listener; it is served on the metrics
/// listener (`server.metrics_listen`, loopback by default).
#[test]
fn metrics_are_on_their_own_listener_only() {
    let dir = scratch("metrics-listener");
    let server = Server::start(&dir, &[]);
    let api = http_get(server.port, "/metrics", "");
    assert!(api.starts_with("HTTP/1.1 404"), "{api}");
    assert!(!api.contains("idbroker_"), "{api}");
    // The API still answers its own routes.
    assert!(http_get(server.port, "/healthz", "").starts_with("HTTP/1.1 200"));
    server.wait_for(
        || TcpStream::connect(("127.0.0.1", server.metrics_port)).is_ok(),
        "the metrics listener",
    );
    let metrics = http_get(server.metrics_port, "/metrics", "");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("idbroker_session_store_errors_total"),
        "{metrics}"
    );
    // Only /metrics there: the STS and the rest are not reachable through it.
    let other = http_get(server.metrics_port, "/healthz", "");
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The scheduling policy of every thread of `pid` (/proc/PID/task/TID/stat, field 41).
#[cfg(target_os = "linux")]
fn thread_policies(pid: u32) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // "TID (COMM) STATE ...": fields from 3 on follow the last ')'.
        let (head, rest) = stat.rsplit_once(')').unwrap();
        let comm = head.split_once('(').unwrap().1.to_owned();
        let policy = rest
            .split_whitespace()
            .nth(41 - 3)
            .unwrap()
            .parse()
            .unwrap();
        out.push((comm, policy));
    }
    out
}

/// `server.cpu_scheduling`: by default every thread of the server (async workers, acceptor,
/// SAML check threads) runs under SCHED_BATCH (3); `normal` leaves the kernel's SCHED_OTHER (0).
#[cfg(target_os = "linux")]
#[test]
fn server_threads_run_under_the_configured_scheduling_policy() {
    for (setting, expected) in [(None, 3), (Some("normal"), 0), (Some("batch"), 3)] {
        let dir = scratch(&format!("sched-{}", setting.unwrap_or("default")));
        let env: Vec<(&str, &Path)> = setting
            .map(|s| ("IDBROKER_CPU_SCHEDULING", Path::new(s)))
            .into_iter()
            .collect();
        let server = Server::start(&dir, &env);
        // One SAML request starts the check threads (they start on first use).
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let body = "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo%2FSamlDeveloper&PrincipalArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FDemoIdP&SAMLAssertion=PHg%2BPC94Pg%3D%3D";
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let answer = read_response(&mut s);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        let threads = thread_policies(server.child.id());
        assert!(
            threads
                .iter()
                .any(|(comm, _)| comm.starts_with("saml-check")),
            "{threads:?}"
        );
        assert!(threads.len() >= 4, "{threads:?}");
        for (comm, policy) in &threads {
            assert_eq!(
                *policy, expected,
                "thread {comm} with cpu_scheduling {setting:?}: {threads:?}"
            );
        }
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Malformed HTTP from a client is the client's fault: at the default log level it writes no
/// ERROR line (actix reports each as `stream error` at ERROR; any client could fill the log).
#[test]
fn malformed_client_requests_write_no_error_lines() {
    let dir = scratch("malformed");
    let server = Server::start(&dir, &[]);
    for raw in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
    }
    // A well-formed request after them, so their lines (if any) are written before its own.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 200"));
    server.signal("TERM");
    server.wait_for(
        || server.log().contains("idbroker stopped"),
        "the server to stop",
    );
    let log = server.log();
    assert!(!log.contains("stream error"), "{log}");
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// POST `body` to `path` on `port` over plain HTTP, SigV4-signed with `key` for `service` when
/// given; the status and the response body.
fn post(
    port: u16,
    path: &str,
    content_type: &str,
    body: &str,
    signer: Option<(&str, &str, Option<&str>, &str)>,
) -> (u16, String) {
    use idbroker_sigv4::{sign, Payload, RequestParts, SigningParams};
    let host = format!("127.0.0.1:{port}");
    let mut extra = String::new();
    if let Some((key, secret, token, service)) = signer {
        let headers = [("Host", host.as_str()), ("Content-Type", content_type)];
        let parts = RequestParts {
            method: "POST",
            path,
            query: "",
            headers: &headers,
            payload: Payload::Bytes(body.as_bytes()),
        };
        let now = idbroker::clock::epoch(idbroker::clock::SystemClock.now());
        let mut p = SigningParams::new(key, secret, "us-east-1", service, now);
        p.security_token = token;
        for (n, v) in sign(&parts, &p).unwrap().headers() {
            extra.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nUser-Agent: audit-test/1.0\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
    .unwrap();
    let answer = read_response(&mut s);
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// The text of `<tag>` in an XML answer.
fn xml_text<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Issue 16: every call writes one audit record in CloudTrail's shape. Real calls against the
/// process (AssumeRole signed with the project's signer, AssumeRoleWithWebIdentity, two
/// `/verify` decisions, a refused AssumeRole, an unsigned one): each line parses, carries the
/// CloudTrail fields, and no secret, token or signature of any of them reaches the log.
#[test]
fn audit_records_are_cloudtrail_records() {
    const FORM: &str = "application/x-www-form-urlencoded";
    const SERVICE: (&str, &str) = (
        "AKIAIDBROKERDEMOSVC1",
        "idbrokerDemoServiceSecretDoNotUseIt00000",
    );
    let dir = scratch("audit-records");
    let server = Server::start(&dir, &[]);
    let port = server.port;

    // AssumeRole, signed.
    let body = form(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", READER),
        ("RoleSessionName", "audit-e2e"),
        ("SourceIdentity", "auditor"),
    ]);
    let (status, xml) = post(port, "/", FORM, &body, Some((KEY, SECRET, None, "sts")));
    assert_eq!(status, 200, "{xml}");
    let role = (
        xml_text(&xml, "AccessKeyId").to_owned(),
        xml_text(&xml, "SecretAccessKey").to_owned(),
        xml_text(&xml, "SessionToken").to_owned(),
    );

    // AssumeRoleWithWebIdentity, with a token of the demo provider.
    let jwt = idbroker::cli::dev::web_identity_token(
        "demo-audit",
        600,
        &root().join("certs/demo/oidc-demo.key"),
        idbroker::clock::SystemClock.now(),
    )
    .unwrap();
    let body = form(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/demo/WebDeployer"),
        ("RoleSessionName", "audit-web"),
        ("WebIdentityToken", &jwt),
    ]);
    let (status, xml) = post(port, "/", FORM, &body, None);
    assert_eq!(status, 200, "{xml}");
    let web = (
        xml_text(&xml, "AccessKeyId").to_owned(),
        xml_text(&xml, "SecretAccessKey").to_owned(),
        xml_text(&xml, "SessionToken").to_owned(),
    );

    // Two /verify decisions on a request the role session signed for the `reports` service.
    let forwarded_headers = {
        use idbroker_sigv4::{sign, Payload, RequestParts, SigningParams};
        let headers = [("Host", "reports.example.com")];
        let parts = RequestParts {
            method: "GET",
            path: "/reports/q1",
            query: "",
            headers: &headers,
            payload: Payload::Bytes(b""),
        };
        let now = idbroker::clock::epoch(idbroker::clock::SystemClock.now());
        let mut p = SigningParams::new(&role.0, &role.1, "us-east-1", "reports", now);
        p.security_token = Some(&role.2);
        let mut all = vec![serde_json::json!(["Host", "reports.example.com"])];
        for (n, v) in sign(&parts, &p).unwrap().headers() {
            all.push(serde_json::json!([n, v]));
        }
        all
    };
    let signature = forwarded_headers
        .iter()
        .find_map(|h| {
            let v = h[1].as_str()?;
            Some(v.split_once("Signature=")?.1.to_owned())
        })
        .unwrap();
    let ask = |action: &str| {
        serde_json::json!({
            "service": "reports", "method": "GET", "path": "/reports/q1",
            "headers": forwarded_headers,
            "body_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "action": action, "resource": "arn:aws:s3:::reports/q1",
        })
        .to_string()
    };
    let service = Some((SERVICE.0, SERVICE.1, None, "idbroker"));
    let (status, answer) = post(
        port,
        "/verify",
        "application/json",
        &ask("s3:GetObject"),
        service,
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(
        port,
        "/verify",
        "application/json",
        &ask("s3:PutObject"),
        service,
    );
    assert_eq!(status, 403, "{answer}");

    // Refused: a role the demo user may not assume, and an unsigned AssumeRole.
    let body = form(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/demo/NoSuchRole"),
        ("RoleSessionName", "nope"),
    ]);
    let (status, _) = post(port, "/", FORM, &body, Some((KEY, SECRET, None, "sts")));
    assert_eq!(status, 403);
    let (status, _) = post(port, "/", FORM, &body, None);
    assert!((400..500).contains(&status));

    // Six calls, six records (workers write their lines at least every 50 ms).
    let records = |log: &str| {
        log.lines()
            .filter(|l| l.starts_with(r#"{"eventVersion":"#))
            .count()
    };
    server.wait_for(|| records(&server.log()) >= 6, "six audit records");
    let log = server.log();
    for line in log.lines().filter(|l| l.starts_with(r#"{"eventVersion":"#)) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["eventVersion"], "1.08", "{line}");
        assert!(v["eventTime"].as_str().unwrap().ends_with('Z'), "{line}");
        for key in [
            "eventSource",
            "eventName",
            "eventType",
            "requestID",
            "eventID",
        ] {
            assert!(
                v[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key}: {line}"
            );
        }
        assert_eq!(v["awsRegion"], "us-east-1", "{line}");
        assert_eq!(v["sourceIPAddress"], "127.0.0.1", "{line}");
        assert_eq!(v["userAgent"], "audit-test/1.0", "{line}");
        assert_eq!(v["recipientAccountId"], "123456789012", "{line}");
        assert_eq!(v["managementEvent"], true, "{line}");
        assert!(v["readOnly"].is_boolean(), "{line}");
        assert!(v["userIdentity"]["type"].is_string(), "{line}");
        assert!(v.get("requestParameters").is_some() && v.get("responseElements").is_some());
    }

    let assumed = audit_records(&log, "AssumeRole");
    assert_eq!(assumed.len(), 3);
    let ok = assumed
        .iter()
        .find(|e| e.get("errorCode").is_none())
        .unwrap();
    assert_eq!(ok["userIdentity"]["type"], "IAMUser");
    assert_eq!(ok["userIdentity"]["accessKeyId"], KEY);
    assert_eq!(ok["requestParameters"]["sourceIdentity"], "auditor");
    assert_eq!(ok["responseElements"]["credentials"]["accessKeyId"], role.0);
    assert_eq!(ok["responseElements"]["sourceIdentity"], "auditor");
    let denied = assumed
        .iter()
        .find(|e| e["errorCode"] == "AccessDenied")
        .unwrap();
    assert!(denied["errorMessage"]
        .as_str()
        .unwrap()
        .contains("is not authorized to perform: sts:AssumeRole"));
    assert_eq!(denied["responseElements"], serde_json::Value::Null);
    let unsigned = assumed
        .iter()
        .find(|e| e["userIdentity"]["type"] == "Unknown")
        .unwrap();
    assert!(unsigned["errorCode"].is_string());

    let web_event = audit_records(&log, "AssumeRoleWithWebIdentity").remove(0);
    assert_eq!(web_event["userIdentity"]["type"], "WebIdentityUser");
    assert_eq!(web_event["userIdentity"]["userName"], "demo-audit");
    assert_eq!(
        web_event["userIdentity"]["identityProvider"],
        "oidc.demo.idbroker.invalid"
    );
    assert_eq!(
        web_event["responseElements"]["credentials"]["accessKeyId"],
        web.0
    );

    let verified = audit_records(&log, "VerifyRequest");
    assert_eq!(verified.len(), 2);
    for v in &verified {
        assert_eq!(v["eventSource"], "idbroker.amazonaws.com");
        assert_eq!(v["readOnly"], true);
        assert_eq!(
            v["userIdentity"]["arn"],
            "arn:aws:iam::123456789012:user/services/reports-service"
        );
        assert_eq!(v["requestParameters"]["path"], "/reports/q1");
        assert_eq!(v["responseElements"]["principal"]["accessKeyId"], role.0);
    }
    let allowed = verified
        .iter()
        .find(|v| v["requestParameters"]["action"] == "s3:GetObject")
        .unwrap();
    assert_eq!(allowed["responseElements"]["allowed"], true);
    assert_eq!(allowed["responseElements"]["decision"], "Allow");
    let refused = verified
        .iter()
        .find(|v| v["requestParameters"]["action"] == "s3:PutObject")
        .unwrap();
    assert_eq!(refused["responseElements"]["allowed"], false);
    assert_eq!(refused["errorCode"], "AccessDenied");
    assert!(refused["additionalEventData"]["detail"].is_string());

    for secret in [
        SECRET, SERVICE.1, &role.1, &role.2, &web.1, &web.2, &jwt, &signature,
    ] {
        assert!(!log.contains(secret), "a secret reached the log: {secret}");
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 18 (first part): SIGHUP reloads the configuration file's directory. A key deactivated
/// in the file is refused once the signal is handled; a bad file is refused (logged) and the
/// directory in force stays.
#[test]
fn sighup_reloads_the_directory_and_refuses_a_bad_file() {
    const FORM: &str = "application/x-www-form-urlencoded";
    const DEMO: (&str, &str) = (
        "AKIAIDBROKERDEMO0001",
        "idbrokerDemoSecretKeyDoNotUseAnywhere000",
    );
    let dir = scratch("sighup-directory");
    let demo = root().join("config/demo/idbroker.toml");
    let config = demo.with_file_name(format!(".sighup-directory-{}.toml", std::process::id()));
    // The demo's directory from its file (no [directory] url): the file is what SIGHUP reloads.
    let text = std::fs::read_to_string(&demo).unwrap();
    assert!(text.contains("url = \"sqlite::memory:\""));
    std::fs::write(&config, text.replacen("url = \"sqlite::memory:\"", "", 1)).unwrap();
    let server = Server::start_with(&dir, &config, &[]);
    let port = server.port;
    let whoami = || {
        let body = form(&[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]);
        post(port, "/", FORM, &body, Some((DEMO.0, DEMO.1, None, "sts")))
    };
    assert_eq!(whoami().0, 200);

    let text = std::fs::read_to_string(&config).unwrap();
    let key_line = format!("id = \"{}\"\n", DEMO.0);
    assert!(text.contains(&key_line));
    std::fs::write(
        &config,
        text.replacen(&key_line, &format!("{key_line}status = \"Inactive\"\n"), 1),
    )
    .unwrap();
    server.signal("HUP");
    server.wait_for(
        || {
            server
                .log()
                .contains("directory reloaded: a new version is in force")
        },
        "the reload",
    );
    let (status, body) = whoami();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("InvalidClientTokenId"), "{body}");

    std::fs::write(&config, "account_id = \"not twelve digits\"\n").unwrap();
    server.signal("HUP");
    server.wait_for(
        || {
            server
                .log()
                .contains("configuration refused; the directory in force stays")
        },
        "the refusal",
    );
    assert_eq!(whoami().0, 403, "the directory in force stays");
    assert!(http_get(port, "/healthz", "").starts_with("HTTP/1.1 200"));
    drop(server);
    let _ = std::fs::remove_file(&config);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two `idbroker serve` processes on one PostgreSQL database (the demo configuration with its
/// directory there): a role created through one is answered by the other within a second, and
/// a trust policy changed through the second decides the first's AssumeRole within a second.
#[test]
fn two_server_processes_on_one_postgresql_database_share_changes_within_a_second() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(common::iam::postgres_database("processes")) else {
        return common::skip_or_fail(
            "no PostgreSQL answers on 127.0.0.1:5432 (IDBROKER_TEST_POSTGRES)",
        );
    };
    let demo = root().join("config/demo/idbroker.toml");
    let config = demo.with_file_name(format!(".two-processes-{}.toml", std::process::id()));
    let text = std::fs::read_to_string(&demo).unwrap();
    assert!(text.contains("url = \"sqlite::memory:\""));
    std::fs::write(
        &config,
        text.replacen(
            "url = \"sqlite::memory:\"",
            &format!("url = \"{db}\"\npoll_milliseconds = 100"),
            1,
        ),
    )
    .unwrap();
    let a = Server::start_with(&scratch("proc-a"), &config, &[]);
    let b = Server::start_with(&scratch("proc-b"), &config, &[]);
    std::fs::remove_file(&config).unwrap();
    let admin = Some((
        common::iam::IAM_ADMIN.0,
        common::iam::IAM_ADMIN.1,
        None,
        "iam",
    ));
    let trust = |who: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:user/{who}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let iam = |port: u16, pairs: &[(&str, &str)]| {
        let mut all = vec![("Version", "2010-05-08")];
        all.extend_from_slice(pairs);
        post(port, "/", FORM, &form(&all), admin)
    };
    let demo_trust = trust("demo");
    let (status, body) = iam(
        a.port,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "Processes"),
            ("AssumeRolePolicyDocument", &demo_trust),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let started = Stopwatch::start();
    loop {
        let (status, _) = iam(b.port, &[("Action", "GetRole"), ("RoleName", "Processes")]);
        if status == 200 {
            break;
        }
        assert_eq!(status, 404);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not on B within 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("process B answered the role after {:?}", started.elapsed());

    // The demo user assumes it through A; B changes the trust policy; A refuses within 1 s.
    let assume = || {
        let body = form(&[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", "arn:aws:iam::123456789012:role/Processes"),
            ("RoleSessionName", "processes"),
        ]);
        post(a.port, "/", FORM, &body, Some((KEY, SECRET, None, "sts"))).0
    };
    assert_eq!(assume(), 200);
    let admin_trust = trust("security-admin");
    let (status, body) = iam(
        b.port,
        &[
            ("Action", "UpdateAssumeRolePolicy"),
            ("RoleName", "Processes"),
            ("PolicyDocument", &admin_trust),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let started = Stopwatch::start();
    while assume() == 200 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "A still trusts after 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("process A refused after {:?}", started.elapsed());
    drop((a, b));
}

/// The IAM API's authentication: unsigned, signed for another service, signed with a wrong
/// secret, or by a caller whose policies allow no IAM action: refused before any entity is
/// looked at; the demo's IAM administrator: answered.
#[test]
fn iam_calls_are_refused_unless_signed_for_iam_by_an_allowed_caller() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let server = Server::start(&scratch("iam-auth"), &[]);
    let body = form(&[
        ("Action", "GetRole"),
        ("Version", "2010-05-08"),
        ("RoleName", "Admin"),
    ]);
    let (admin_key, admin_secret) = common::iam::IAM_ADMIN;
    let call = |signer| post(server.port, "/", FORM, &body, signer);

    let (status, answer) = call(None);
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("<Code>MissingAuthenticationToken</Code>"),
        "{answer}"
    );
    let (status, answer) = call(Some((admin_key, admin_secret, None, "sts")));
    assert!(status == 400 || status == 403, "{status} {answer}");
    assert!(
        answer.contains("correct service: &apos;iam&apos;"),
        "{answer}"
    );
    let (status, answer) = call(Some((
        admin_key,
        "wrong-secret-wrong-secret-wrong-secret00",
        None,
        "iam",
    )));
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{answer}"
    );
    let (status, answer) = call(Some((KEY, SECRET, None, "iam")));
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("<Code>AccessDenied</Code>"), "{answer}");
    let (status, answer) = call(Some((admin_key, admin_secret, None, "iam")));
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<RoleName>Admin</RoleName>"), "{answer}");
}
