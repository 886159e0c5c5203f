//! The browser tests' world (tests/console_e2e.rs, tests/cli_login_e2e.rs): a pysaml2 IdP
//! (tests/browser/idp.py), panva's oidc-provider (tests/oidc/op/op.mjs) and the idbroker binary
//! configured for both, all on loopback, and headless Chromium driven by
//! tests/browser/run.mjs, one scenario per run, every wait bounded.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use idbroker::clock::Stopwatch;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why this machine cannot run the browser tests, if it cannot.
pub fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} not found"));
    }
    for dir in ["tests/browser/node_modules", "tests/oidc/op/node_modules"] {
        if !root().join(dir).exists() {
            return Some(format!("{dir} missing (npm ci)"));
        }
    }
    let py = Command::new("python3")
        .args(["-c", "import saml2, freezegun"])
        .output();
    if !py.is_ok_and(|o| o.status.success()) {
        return Some("python3 with pysaml2 and freezegun not found".into());
    }
    if !Path::new("/usr/bin/xmlsec1").exists() {
        return Some("xmlsec1 not found".into());
    }
    None
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `cmd` and wait (bounded) for its `READY <port>` line.
pub fn start_peer(mut cmd: Command, name: &'static str) -> (Proc, u16) {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("READY ") {
                let _ = tx.send(p.trim().parse::<u16>().ok());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{name} did not become ready"));
    (Proc(child), port)
}

pub fn wait_healthy(port: u16) {
    let waiting = Stopwatch::start();
    while waiting.elapsed() < Duration::from_secs(30) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut out);
            if out.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("idbroker did not answer /healthz on port {port}");
}

/// A fresh SP key pair (it signs the AuthnRequests; the IdP reads the certificate from
/// idbroker's SP metadata).
pub fn sp_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("sp.key"), dir.join("sp.crt"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=idbroker test SP", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl: {out:?}");
    (key, cert)
}

pub fn config(port: u16, op_port: u16, idp_metadata: &Path, sp: &(PathBuf, PathBuf)) -> String {
    let acs = format!("http://127.0.0.1:{port}/saml/acs");
    let saml_trust = format!(
        r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:saml-provider/TestIdP"}},"Action":["sts:AssumeRoleWithSAML","sts:SetSourceIdentity","sts:TagSession"],"Condition":{{"StringEquals":{{"saml:aud":"{acs}"}}}}}}"#
    );
    let oidc_trust = format!(
        r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/127.0.0.1:{op_port}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"127.0.0.1:{op_port}:aud":"idbroker-console"}}}}}}"#
    );
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).unwrap();
    format!(
        r#"
account_id = "111122223333"
[server]
listen = "127.0.0.1:{port}"
[store]
kind = "memory"
[saml]
sp_entity_id = "urn:idbroker:console-test"
acs_url = "{acs}"
sp_private_key_file = "{sp_key}"
sp_certificate_file = "{sp_cert}"
[[saml_providers]]
name = "TestIdP"
metadata_file = "{metadata}"
[[oidc_providers]]
issuer = "http://127.0.0.1:{op_port}"
client_ids = ["idbroker-console"]
allow_http_loopback = true
[oidc_providers.login]
name = "TestOP"
display_name = "Test OpenID Provider"
client_id = "idbroker-console"
client_secret = {{ value = "console-secret-not-for-production" }}
[console]
public_url = "http://127.0.0.1:{port}"
sign_authn_requests = true
cookie_key = {{ value = "{key}" }}
[[roles]]
name = "Admin"
path = "/console/"
description = "Administers the reports platform"
trust_policy = '{{"Version":"2012-10-17","Statement":[{saml_trust}]}}'
[[roles]]
name = "ReadOnly"
path = "/console/"
description = "Reads the quarterly reports"
trust_policy = '{{"Version":"2012-10-17","Statement":[{saml_trust},{oidc_trust}]}}'
[[roles]]
name = "Denied"
path = "/console/"
description = "Nobody federated gets this one"
trust_policy = '{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"sts:AssumeRole"}}}}'
"#,
        metadata = idp_metadata.display(),
        sp_key = sp.0.display(),
        sp_cert = sp.1.display(),
        key = data_encoding::BASE64.encode(&key),
    )
}

/// The peers and idbroker of one browser test, stopped when dropped.
pub struct Setup {
    /// The test's directory (configuration, logs, keys).
    pub dir: PathBuf,
    /// idbroker's URL.
    pub url: String,
    /// The IdP's and the OP's URLs.
    pub idp_url: String,
    pub op_url: String,
    _server: Proc,
    _op: Proc,
    _idp: Proc,
    _lease: super::PortLease,
}

impl Setup {
    /// The IdP, the OP and idbroker for test `name`; `None` when this machine cannot run browser
    /// tests (skipped, or failed under CI: `skip_or_fail`).
    pub fn start(name: &str) -> Option<Setup> {
        Setup::start_with(name, |_| String::new())
    }

    /// [`Setup::start`] with more configuration: `extra(dir)` is appended to idbroker's file.
    pub fn start_with(name: &str, extra: impl FnOnce(&Path) -> String) -> Option<Setup> {
        if let Some(why) = missing() {
            super::skip_or_fail(format!("browser tests: {why}"));
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("idbroker-browser-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // idbroker's port goes into the IdP's, the OP's and its own configuration before it
        // starts: a leased port (common::PortLease), held until the test ends.
        let lease = super::PortLease::new();
        let port = lease.port();

        let mut idp = Command::new("python3");
        idp.arg(root().join("tests/browser/idp.py"))
            .arg(&dir)
            .arg(format!("http://127.0.0.1:{port}/saml/metadata"));
        let (idp, idp_port) = start_peer(idp, "idp.py");
        let mut op = Command::new("node");
        op.arg(root().join("tests/oidc/op/op.mjs")).env(
            "CONSOLE_REDIRECT_URI",
            format!("http://127.0.0.1:{port}/console/oidc/callback"),
        );
        let (op, op_port) = start_peer(op, "op.mjs");

        let file = dir.join("idbroker.toml");
        let sp = sp_keys(&dir);
        std::fs::write(
            &file,
            config(port, op_port, &dir.join("idp-metadata.xml"), &sp) + &extra(&dir),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("idbroker.log")).unwrap();
        let server = Command::new(env!("CARGO_BIN_EXE_idbroker"))
            .args(["serve", "--config"])
            .arg(&file)
            .env("IDBROKER_LOG", "warn")
            // Its metrics listener on a port of its own: the tests run side by side.
            .env("IDBROKER_METRICS_LISTEN", "127.0.0.1:0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Proc(server);
        wait_healthy(port);
        Some(Setup {
            dir,
            url: format!("http://127.0.0.1:{port}"),
            idp_url: format!("http://127.0.0.1:{idp_port}"),
            op_url: format!("http://127.0.0.1:{op_port}"),
            _server: server,
            _op: op,
            _idp: idp,
            _lease: lease,
        })
    }

    /// Run browser scenario `name` (tests/browser/run.mjs) with `env` besides the URLs, bounded
    /// to 180 s: whether it passed, and what it printed.
    pub fn browser(&self, name: &str, env: &[(&str, &str)]) -> (bool, String) {
        let shots = root().join("target/console-screenshots");
        let mut browser = Command::new("node");
        browser
            .arg(root().join("tests/browser/run.mjs"))
            .arg(name)
            .env("IDB_URL", &self.url)
            .env("IDP_URL", &self.idp_url)
            .env("OP_URL", &self.op_url)
            .env("SHOT_DIR", &shots)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            browser.env(k, v);
        }
        if std::env::var("UPDATE_DOC_SHOTS").is_ok_and(|v| v == "1") {
            browser.env("DOC_SHOTS", root().join("docs/img"));
        }
        let mut child = browser.spawn().unwrap();
        let waiting = Stopwatch::start();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if waiting.elapsed() > Duration::from_secs(180) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{text}");
        (status.is_some_and(|s| s.success()), text)
    }

    /// What idbroker logged.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("idbroker.log")).unwrap_or_default()
    }

    /// The test passed: its directory goes.
    pub fn passed(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
