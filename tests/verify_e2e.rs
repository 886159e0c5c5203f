//! End to end: credentials issued by the running idbroker server (AssumeRole through
//! aws-sdk-sts), requests signed with them by the AWS signer (aws-sigv4) and sent over HTTP to
//! the example downstream service (examples/things.rs) running as a process of its own, with
//! nothing but idbroker's URL and its own key in its environment: it asks idbroker for scoped
//! keys and policies and follows its revocation stream. Roles and policies:
//! tests/verify_e2e/idbroker.toml.
//!
//! The example reads the real clock, so times are real: sessions are issued in the past by
//! moving the server's clock (and moving it back), and requests signed at chosen times.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use common::{raw_http, sdk_with_keys, start, PortLease, RedisServer};
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};
use idbroker::config::{Config, StoreConfig};
use idbroker_session::AccessKeyId;

const KEY: &str = "AKIAIDBROKERTEST0001";
const SECRET: &str = "idbrokerTestSecretKeyDoNotUseAnywhere000";
const EDITOR: &str = "arn:aws:iam::123456789012:role/things/ThingsEditor";
const BOUNDED: &str = "arn:aws:iam::123456789012:role/things/ThingsBounded";
const REGION: &str = "eu-west-1";
/// The example service's own key (tests/verify_e2e/idbroker.toml).
const SERVICE_KEY: &str = "AKIAIDBROKERSERVICE1";
const SERVICE_SECRET: &str = "idbrokerTestServiceSecretDoNotUseIt00000";
/// The service name the example verifies for (examples/things.rs).
const SERVICE: &str = "example";

fn config(redis_url: &str, prefix: &str, now: SystemTime) -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verify_e2e/idbroker.toml");
    let mut cfg = Config::load_with_env(&file, &|_| None, now).unwrap();
    cfg.store = StoreConfig::Redis {
        url: redis_url.into(),
        prefix: prefix.into(),
    };
    cfg
}

/// The example program, built by `cargo build --examples` (scripts/test.sh does) next to this
/// test's own binary; built here if it is not.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir.join("examples/things");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--example", "things", "--all-features"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the example failed");
    }
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

/// The example service's process, killed when dropped.
struct Service {
    child: std::process::Child,
    _port: PortLease,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the example with idbroker's URL and its own key only; wait until it listens.
async fn service(sts: &str) -> (Service, String) {
    let port = PortLease::new();
    let addr = format!("127.0.0.1:{}", port.port());
    let child = std::process::Command::new(example_binary())
        .env_clear()
        .env("IDBROKER_URL", sts)
        .env("IDBROKER_ACCESS_KEY_ID", SERVICE_KEY)
        .env("IDBROKER_SECRET_ACCESS_KEY", SERVICE_SECRET)
        .env("LISTEN", &addr)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // What the service holds: idbroker's URL and its own key; no sealing key, no store.
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    let environ = String::from_utf8_lossy(&environ).to_ascii_uppercase();
    for secret_of_idbroker in ["SEALING", "REDIS", "STORE", "IDBROKER_CONFIG"] {
        assert!(!environ.contains(secret_of_idbroker), "{environ}");
    }
    let svc = Service { child, _port: port };
    let started = Stopwatch::start();
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the example service never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (svc, addr)
}

struct World {
    /// idbroker.
    sts: String,
    /// The example service (`127.0.0.1:PORT`).
    svc: String,
    clock: Arc<ManualClock>,
    store: Arc<dyn idbroker_session::SessionStore>,
    _service: Service,
}

async fn world(redis_url: &str) -> World {
    let prefix = format!(
        "verify-e2e:{}:{}:",
        std::process::id(),
        SystemClock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let cfg = config(redis_url, &prefix, clock.now());
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    let store = state.store.clone();
    let sts = start(state).await;
    let (service, svc) = service(&sts).await;
    World {
        sts,
        svc,
        clock,
        store,
        _service: service,
    }
}

#[derive(Clone, Debug)]
struct Creds {
    id: String,
    secret: String,
    token: String,
}

/// AssumeRole by the test user, with the server's clock at `at`.
async fn assume(
    w: &World,
    role: &str,
    policy: Option<&str>,
    duration: i32,
    at: SystemTime,
) -> Result<Creds, String> {
    w.clock.set(at);
    let sts = sdk_with_keys(&w.sts, KEY, SECRET, None, at);
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name("alice")
        .set_policy(policy.map(str::to_owned))
        .duration_seconds(duration)
        .send()
        .await
        .map_err(|e| format!("{e:?}"));
    // Back to the real time: the service's own calls to idbroker are signed at it.
    w.clock.set(SystemClock.now());
    let out = out?;
    let c = out.credentials().unwrap();
    Ok(Creds {
        id: c.access_key_id().into(),
        secret: c.secret_access_key().into(),
        token: c.session_token().into(),
    })
}

/// A request to the service, signed by aws-sigv4 (`token` overrides the session token).
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    body: &'a str,
    service: &'a str,
    at: SystemTime,
    token: Option<&'a str>,
}

fn call<'a>(method: &'a str, path: &'a str) -> Call<'a> {
    Call {
        method,
        path,
        body: "",
        service: SERVICE,
        at: SystemClock.now(),
        token: None,
    }
}

fn signed_headers(w: &World, c: &Creds, call: &Call<'_>) -> Vec<(String, String)> {
    let token = call.token.unwrap_or(&c.token).to_owned();
    let identity = Credentials::new(&c.id, &c.secret, Some(token), None, "e2e").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(call.service)
        .time(call.at)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = vec![("host".to_owned(), w.svc.clone())];
    let signable = SignableRequest::new(
        call.method,
        Cow::Owned(format!("http://{}{}", w.svc, call.path)),
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(call.body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut out = headers.clone();
    out.extend(
        instructions
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    out
}

/// Send `headers` with `method path` and the call's body; the status and the body.
async fn send(
    w: &World,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> (u16, String) {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let resp = raw_http(&format!("http://{}", w.svc), req).await;
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn request(w: &World, c: &Creds, call: Call<'_>) -> (u16, String) {
    let headers = signed_headers(w, c, &call);
    send(w, call.method, call.path, &headers, call.body).await
}

/// Status and AWS error code (`""` for a success).
async fn outcome(w: &World, c: &Creds, call: Call<'_>) -> (u16, String) {
    let (status, body) = request(w, c, call).await;
    (status, code_of(&body))
}

fn code_of(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(c, _)| c.to_owned())
        .unwrap_or_default()
}

fn ok() -> (u16, String) {
    (200, String::new())
}

fn err(status: u16, code: &str) -> (u16, String) {
    (status, code.to_owned())
}

fn ago(secs: u64) -> SystemTime {
    SystemClock.now() - Duration::from_secs(secs)
}

#[actix_web::test]
async fn allowed_and_denied_through_the_example_service() {
    let w = world("redis://127.0.0.1:6379").await;
    // Issued 20 minutes ago, valid for an hour: room to sign in the past.
    let editor = assume(&w, EDITOR, None, 3600, ago(1200)).await.unwrap();

    // Allowed: the role's policy.
    let (status, body) = request(&w, &editor, call("GET", "/things")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("example:ListThings arn:aws:example:eu-west-1:123456789012:thing/*"),
        "{body}"
    );
    assert!(body.contains("assumed-role/ThingsEditor/alice"), "{body}");
    let put = Call {
        body: "{\"name\":\"widget\"}",
        ..call("PUT", "/things/7")
    };
    assert_eq!(outcome(&w, &editor, put).await, ok());
    assert_eq!(outcome(&w, &editor, call("GET", "/things/7")).await, ok());

    // Denied by the role's explicit Deny.
    assert_eq!(
        outcome(&w, &editor, call("DELETE", "/things/7")).await,
        err(403, "AccessDenied")
    );

    // Denied by the session policy (the role would allow PutThing).
    let list_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"example:ListThings","Resource":"*"}]}"#;
    let narrowed = assume(&w, EDITOR, Some(list_only), 3600, ago(60))
        .await
        .unwrap();
    assert_eq!(outcome(&w, &narrowed, call("GET", "/things")).await, ok());
    assert_eq!(
        outcome(&w, &narrowed, call("PUT", "/things/7")).await,
        err(403, "AccessDenied")
    );

    // Denied by the permissions boundary (the role's own policy allows example:*).
    let bounded = assume(&w, BOUNDED, None, 3600, ago(60)).await.unwrap();
    assert_eq!(outcome(&w, &bounded, call("GET", "/things/7")).await, ok());
    assert_eq!(
        outcome(&w, &bounded, call("PUT", "/things/7")).await,
        err(403, "AccessDenied")
    );

    // Tampered: signed for /things/7, sent to /things/8.
    let headers = signed_headers(&w, &editor, &call("GET", "/things/7"));
    let (status, body) = send(&w, "GET", "/things/8", &headers, "").await;
    assert_eq!((status, code_of(&body)), err(403, "SignatureDoesNotMatch"));

    // Replayed outside the 15-minute window (the session itself is still valid).
    let old = Call {
        at: ago(16 * 60),
        ..call("GET", "/things")
    };
    assert_eq!(outcome(&w, &editor, old).await, err(400, "RequestExpired"));

    // Another session's token.
    let wrong = Call {
        token: Some(&bounded.token),
        ..call("GET", "/things")
    };
    assert_eq!(
        outcome(&w, &editor, wrong).await,
        err(403, "InvalidClientTokenId")
    );

    // Signed for another service.
    let s3 = Call {
        service: "s3",
        ..call("GET", "/things")
    };
    assert_eq!(
        outcome(&w, &editor, s3).await,
        err(400, "IncompleteSignature")
    );

    // Unsigned.
    let (status, body) = send(&w, "GET", "/things", &[("host".into(), w.svc.clone())], "").await;
    assert_eq!(
        (status, code_of(&body)),
        err(403, "MissingAuthenticationToken")
    );

    // Expired: issued 1000 s ago for 900 s; the request itself is fresh.
    let expired = assume(&w, EDITOR, None, 900, ago(1000)).await.unwrap();
    assert_eq!(
        outcome(&w, &expired, call("GET", "/things")).await,
        err(403, "ExpiredToken")
    );

    // Revoked with the store's revoke(): the revocation reaches the service through idbroker's
    // event stream, within a second.
    assert_eq!(outcome(&w, &editor, call("GET", "/things")).await, ok());
    w.store
        .revoke(&AccessKeyId::parse(&editor.id).unwrap())
        .await
        .unwrap();
    let revoked_at = Stopwatch::start();
    loop {
        match outcome(&w, &editor, call("GET", "/things")).await {
            r if r == err(403, "InvalidClientTokenId") => break,
            r => assert_eq!(r, ok()),
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "never refused"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = revoked_at.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "the revocation took {took:?}"
    );
    // Other sessions are untouched.
    assert_eq!(outcome(&w, &bounded, call("GET", "/things")).await, ok());
}

/// Redis goes away behind idbroker: every verification the service's cache cannot answer fails
/// closed with ServiceUnavailable (503), promptly, and what it had cached is used for at most the
/// cache TTL (1 s) once idbroker says its revocation feed is down; Redis comes back:
/// verification recovers without a restart.
#[actix_web::test]
async fn redis_down_fails_closed_and_recovers() {
    let mut server = RedisServer::start();
    let w = world(&server.url()).await;
    let a = assume(&w, EDITOR, None, 3600, ago(60)).await.unwrap();
    let b = assume(&w, EDITOR, None, 3600, ago(60)).await.unwrap();
    assert_eq!(outcome(&w, &a, call("GET", "/things")).await, ok());

    server.kill().unwrap();
    server.wait().unwrap();
    let killed = Stopwatch::start();
    // The warm session: refused once the stream said "down" and its grant is a second old.
    loop {
        let (status, body) = request(&w, &a, call("GET", "/things")).await;
        if (status, code_of(&body)) == err(503, "ServiceUnavailable") {
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            killed.elapsed() < Duration::from_secs(4),
            "a cached grant outlived the bound with the stream down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for creds in [&a, &b] {
        let started = Stopwatch::start();
        let (status, body) = request(&w, creds, call("GET", "/things")).await;
        assert_eq!((status, code_of(&body)), err(503, "ServiceUnavailable"));
        assert!(!body.contains(&creds.id), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the store timeout"
        );
    }

    // Back (empty: the sessions died with it). New credentials verify once both the server
    // and the service have reconnected; allow the connection managers a bounded moment.
    server.restart();
    let waiting = Stopwatch::start();
    loop {
        let result = match assume(&w, EDITOR, None, 3600, ago(60)).await {
            Ok(c) => outcome(&w, &c, call("GET", "/things")).await,
            Err(e) => (0, e),
        };
        if result == ok() {
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no recovery after Redis restarted: {result:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
