//! Helpers shared by the integration tests: the demo configuration, the server on a free
//! loopback port, and raw HTTP for the endpoints the AWS SDK does not call; what a test does
//! when a peer is missing (skip.rs), a redis-server of a test's own (redis_server.rs), a
//! race-free port for a child that cannot bind port 0 (port.rs), and the admin API's callers
//! (admin.rs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod admin;
pub mod browser;
pub mod iam;
mod port;
mod redis_server;
pub mod saml_setup;
pub mod skip;

// Not every test binary uses every helper.
#[allow(unused_imports)]
pub use port::PortLease;
#[allow(unused_imports)]
pub use redis_server::RedisServer;
#[allow(unused_imports)]
pub use skip::skip_or_fail;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_async::time::StaticTimeSource;
use idbroker::clock::{Clock, SystemClock};
use idbroker::config::Config;

/// The demo user's development-only access key (config/demo/idbroker.toml).
pub const KEY: &str = "AKIAIDBROKERDEMO0001";
/// Its secret.
pub const SECRET: &str = "idbrokerDemoSecretKeyDoNotUseAnywhere000";
/// The demo role any principal of the account may assume.
pub const READER: &str = "arn:aws:iam::123456789012:role/demo/ReportsReader";

/// The demo SAML provider and the role its responses name (config/demo/idbroker.toml).
pub const DEMO_SAML_PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/DemoIdP";
pub const DEMO_SAML_ROLE: &str = "arn:aws:iam::123456789012:role/demo/SamlDeveloper";

/// A genuine response of the demo IdP for `user` at `now` (Response and Assertion signed with
/// the development key in certs/demo), as XML text.
pub fn demo_saml_xml(user: &str, now: SystemTime) -> String {
    let read = |p: &str| std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap();
    let cfg = demo();
    let p = cfg.saml.provider(DEMO_SAML_PROVIDER).unwrap();
    let b64 = idbroker::federation::saml::dev::demo_response(
        &cfg.saml,
        p,
        &read("certs/demo/saml-idp.key"),
        &read("certs/demo/saml-idp.crt"),
        DEMO_SAML_ROLE,
        user,
        now,
    )
    .unwrap();
    String::from_utf8(data_encoding::BASE64.decode(b64.as_bytes()).unwrap()).unwrap()
}

/// `config/demo/idbroker.toml`, loaded with an empty environment at the real time.
pub fn demo() -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    Config::load_with_env(&file, &|_| None, SystemClock.now()).unwrap()
}

/// Start the server on a free loopback port; returns its URL (`http://127.0.0.1:PORT`).
pub async fn start(state: idbroker::state::AppState) -> String {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state.for_worker()))
            .configure(idbroker::routes)
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    format!("http://{addr}")
}

/// Send a raw HTTP/1.1 request (with `Connection: close`) and return the whole response.
pub async fn raw_http(url: &str, request: String) -> String {
    let addr = url.trim_start_matches("http://").to_owned();
    actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

/// `GET path`, raw.
pub async fn get(url: &str, path: &str) -> String {
    raw_http(
        url,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// SAML responses minted by tests/saml/mint.py (signxml, fresh keys per run).
pub struct Minted {
    /// Where mint.py wrote (metadata.xml, cases.json, ...).
    pub dir: PathBuf,
    /// mint.py's clock.
    pub now: SystemTime,
    /// Case name -> base64 response.
    pub cases: HashMap<String, String>,
}

/// Run mint.py into a fresh directory. `None` when its Python dependencies are missing (skipped,
/// or failed under CI: [`skip_or_fail`]).
pub fn mint_saml(tag: &str, args: [&str; 5]) -> Option<Minted> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("saml_mint_{tag}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/saml/mint.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .args(args)
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        // mint.py's exit 3: a Python module it needs is missing.
        Ok(o) if o.status.code() == Some(3) => {
            skip_or_fail(format!(
                "tests/saml/mint.py: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            return None;
        }
        Err(e) => {
            skip_or_fail(format!("python3 (for tests/saml/mint.py): {e}"));
            return None;
        }
        other => panic!("mint.py failed: {other:?}"),
    };
    drop(out);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(json["now"].as_u64().unwrap());
    let cases = json["cases"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    Some(Minted { dir, now, cases })
}

/// aws-sdk-sts pointed at `url`, with `creds` (none: unsigned calls only) and its clock at `at`.
pub fn sdk(url: &str, creds: Option<Credentials>, at: SystemTime) -> aws_sdk_sts::Client {
    let mut b = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .time_source(StaticTimeSource::new(at));
    if let Some(c) = creds {
        b = b.credentials_provider(c);
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

/// [`sdk`] with static keys (and a session token for temporary credentials).
pub fn sdk_with_keys(
    url: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
    at: SystemTime,
) -> aws_sdk_sts::Client {
    sdk(
        url,
        Some(Credentials::new(key, secret, token, None, "test")),
        at,
    )
}

/// The STS error code of a failed SDK call.
pub fn sdk_code<E: aws_sdk_sts::error::ProvideErrorMetadata>(
    e: &aws_sdk_sts::error::SdkError<E>,
) -> String {
    e.as_service_error()
        .and_then(|s| s.code())
        .unwrap_or("<no service error>")
        .to_owned()
}
