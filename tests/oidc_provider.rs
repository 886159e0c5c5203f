//! Against a real OpenID Provider: panva's `oidc-provider` (tests/oidc/op) started on loopback by
//! this test and killed at its end. ID tokens come from a scripted authorization code flow and
//! JWT access tokens from the client credentials grant; aws-sdk-sts exchanges them. The OP then
//! rotates its signing key: idbroker picks the new kid up without a restart (discovery, JWKS
//! refetch on unknown kid), and once the old key is gone upstream, tokens signed with it stop
//! working. The workload credentials endpoint is driven by an unmodified SDK credentials
//! provider (botocore's container provider in the AWS CLI).
//!
//! Needs Node and `npm ci` in tests/oidc/op, and the AWS CLI (scripts/test.sh provides them).
//! Without them the test (or its AWS CLI part) skips, except under CI (`CI=true`), where it fails
//! (common::skip_or_fail).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod oidc;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sts::config::{BehaviorVersion, Region};
use idbroker::clock::{Clock, ManualClock, SystemClock};

/// The OP process; killed when dropped.
struct Op {
    child: Child,
    port: u16,
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn op_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/op")
}

fn start_op() -> Option<Op> {
    let ready = op_dir()
        .join("node_modules/oidc-provider/package.json")
        .exists();
    let node = Command::new("node").arg("--version").output().is_ok();
    if !(ready && node) {
        common::skip_or_fail(
            "node or tests/oidc/op/node_modules missing (run: npm ci --prefix tests/oidc/op)",
        );
        return None;
    }
    let mut child = Command::new("node")
        .arg("op.mjs")
        .current_dir(op_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("READY ") {
                let _ = tx.send(p.trim().parse::<u16>().unwrap());
            }
        }
    });
    let mut op = Op { child, port: 0 };
    op.port = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the OP did not start within 20 s");
    Some(op)
}

/// Call a test route of the OP and take `field` of its JSON answer.
async fn op_call(http: &reqwest::Client, op: &Op, post: bool, path: &str, field: &str) -> String {
    let url = format!("http://127.0.0.1:{}{path}", op.port);
    let req = if post { http.post(url) } else { http.get(url) };
    let body = req.send().await.unwrap().bytes().await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

async fn op_get(http: &reqwest::Client, op: &Op, path: &str) -> String {
    op_call(http, op, false, path, "token").await
}

async fn op_post(http: &reqwest::Client, op: &Op, path: &str) -> String {
    op_call(http, op, true, path, "kid").await
}

fn kid_of(token: &str) -> String {
    let h = data_encoding::BASE64URL_NOPAD
        .decode(token.split('.').next().unwrap().as_bytes())
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&h).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

async fn exchange(
    client: &aws_sdk_sts::Client,
    role: &str,
    token: &str,
) -> Result<(String, String), String> {
    client
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name("op-session")
        .web_identity_token(token)
        .send()
        .await
        .map(|o| {
            (
                o.subject_from_web_identity_token()
                    .unwrap_or_default()
                    .to_owned(),
                o.credentials().unwrap().access_key_id().to_owned(),
            )
        })
        .map_err(|e| {
            e.as_service_error()
                .and_then(|s| aws_sdk_sts::error::ProvideErrorMetadata::code(s))
                .unwrap_or("<no service error>")
                .to_owned()
        })
}

const ROLE: &str = "arn:aws:iam::123456789012:role/op/OpUser";

#[actix_web::test]
async fn real_op_tokens_rotation_and_workload_credentials() {
    oidc::install_crypto();
    let Some(op) = start_op() else { return };
    let port = op.port;
    let hp = format!("127.0.0.1:{port}");
    let text = format!(
        r#"account_id = "123456789012"
[store]
kind = "memory"

[[oidc_providers]]
issuer = "http://{hp}"
client_ids = ["idbroker-test"]
allow_http_loopback = true
fetch_timeout_ms = 2000

[[roles]]
name = "OpUser"
path = "/op/"
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::123456789012:oidc-provider/{hp}"}},
   "Action": "sts:AssumeRoleWithWebIdentity",
   "Condition": {{"StringEquals": {{"{hp}:aud": "idbroker-test"}},
                 "StringLike": {{"{hp}:sub": ["alice", "idbroker-test"]}}}}}}]}}
'''
"#
    );
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(oidc::load(&text), clock.clone())
        .await
        .unwrap();
    // /metrics is served on a listener of its own (server.metrics_listen).
    let (metrics, metrics_at) = idbroker::metrics_server(state.clone(), "127.0.0.1:0").unwrap();
    actix_web::rt::spawn(metrics);
    let url = common::start(state).await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&url)
            .build(),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let work = async {
        // An ID token from the authorization code flow.
        let alice = op_get(&http, &op, "/test/id-token?sub=alice").await;
        let (sub, key) = exchange(&sts, ROLE, &alice).await.unwrap();
        assert_eq!(sub, "alice");
        assert!(key.starts_with("ASIA"));
        // Another user, refused by the trust policy.
        let bob = op_get(&http, &op, "/test/id-token?sub=bob").await;
        assert_eq!(
            exchange(&sts, ROLE, &bob).await.unwrap_err(),
            "AccessDenied"
        );
        // A JWT access token from the client credentials grant (a workload's token).
        let cc = op_get(&http, &op, "/test/cc-token").await;
        let (sub, _) = exchange(&sts, ROLE, &cc).await.unwrap();
        assert_eq!(sub, "idbroker-test");

        // The workload endpoint, with an unmodified SDK credentials provider.
        workload_with_aws_cli(&url, &cc).await;

        // Rotation: the OP signs with a new key. No restart of idbroker.
        let old_kid = kid_of(&alice);
        let new_kid = op_post(&http, &op, "/test/rotate").await;
        let fresh = op_get(&http, &op, "/test/id-token?sub=alice").await;
        assert_eq!(kid_of(&fresh), new_kid);
        assert_ne!(new_kid, old_kid);
        clock.advance(Duration::from_secs(11)); // past the refetch rate limit
        assert_eq!(exchange(&sts, ROLE, &fresh).await.unwrap().0, "alice");
        // The old key is still published: its tokens still work.
        assert!(exchange(&sts, ROLE, &alice).await.is_ok());
        // The old key removed upstream: after the cache expires, its tokens stop working.
        op_post(&http, &op, "/test/drop-old").await;
        clock.advance(Duration::from_secs(301));
        assert_eq!(
            exchange(&sts, ROLE, &alice).await.unwrap_err(),
            "InvalidIdentityToken"
        );
        let fresh2 = op_get(&http, &op, "/test/id-token?sub=alice").await;
        assert!(exchange(&sts, ROLE, &fresh2).await.is_ok());

        let metrics = common::get(&format!("http://{metrics_at}"), "/metrics").await;
        let line =
            format!("idbroker_oidc_jwks_fetches_total{{provider=\"{hp}\",outcome=\"ok\"}} 3");
        assert!(metrics.contains(&line), "{metrics}");
    };
    tokio::time::timeout(Duration::from_secs(120), work)
        .await
        .expect("the OP test took longer than 120 s");
    drop(op);
}

/// The AWS CLI (botocore's container credentials provider, unmodified) with
/// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE pointing at
/// idbroker and a mounted token file; it then signs GetCallerIdentity with what it got.
async fn workload_with_aws_cli(url: &str, token: &str) {
    // The endpoint's answer, raw.
    let raw = common::raw_http(
        url,
        format!(
            "GET /workload/credentials?RoleArn={} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n",
            ROLE.replace(':', "%3A").replace('/', "%2F")
        ),
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    for k in [
        "\"AccessKeyId\":\"ASIA",
        "\"SecretAccessKey\"",
        "\"Token\"",
        "\"Expiration\"",
    ] {
        assert!(raw.contains(k), "{raw}");
    }
    let denied = common::raw_http(
        url,
        format!("GET /workload/credentials?RoleArn={ROLE} HTTP/1.1\r\nHost: x\r\nAuthorization: garbage\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(denied.starts_with("HTTP/1.1 400"), "{denied}");

    if Command::new("aws").arg("--version").output().is_err() {
        return common::skip_or_fail(
            "the AWS CLI is not installed (pip install awscli): workload credentials through botocore's container provider",
        );
    }
    let dir = std::env::temp_dir().join(format!("idbroker-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, token).unwrap();
    let full_uri = format!(
        "{url}/workload/credentials?RoleArn={}&RoleSessionName=pod-1",
        ROLE.replace(':', "%3A").replace('/', "%2F")
    );
    let url = url.to_owned();
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new("aws")
            .args([
                "--endpoint-url",
                &url,
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("AWS_CONFIG_FILE", dir.join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", full_uri)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aws: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("arn:aws:sts::123456789012:assumed-role/OpUser/pod-1"),
        "{stdout}"
    );
}

/// An OpenID Connect provider created through the IAM API (the real OP on loopback, allowed by
/// `[directory] allow_http_loopback_providers`, tests only): trusted by AssumeRoleWithWebIdentity
/// once created, for the client IDs it lists, and no longer once deleted.
#[actix_web::test]
async fn an_oidc_provider_made_through_iam_is_trusted_for_its_client_ids_until_deleted() {
    oidc::install_crypto();
    let Some(op) = start_op() else { return };
    let hp = format!("127.0.0.1:{}", op.port);
    let admin = (
        "AKIAOIDCIAMADMIN0001",
        "oidcIamAdminSecretDoNotUseAnywhere000000",
    );
    let text = format!(
        r#"account_id = "123456789012"
[store]
kind = "memory"
[directory]
url = "sqlite::memory:"
allow_http_loopback_providers = true
[sealing]
active_key_id = "t"
keys.t = {{ value = "{}" }}

[[managed_policies]]
name = "IamAdmin"
document = '{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:*","Resource":"*"}}]}}'

[[users]]
name = "admin"
policies = ["arn:aws:iam::123456789012:policy/IamAdmin"]
[[users.access_keys]]
id = "{}"
secret = {{ value = "{}" }}

[[roles]]
name = "OpUser"
path = "/op/"
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::123456789012:oidc-provider/{hp}"}},
   "Action": "sts:AssumeRoleWithWebIdentity",
   "Condition": {{"StringLike": {{"{hp}:sub": ["alice"]}}}}}}]}}
'''
"#,
        data_encoding::BASE64.encode(&[5u8; 32]),
        admin.0,
        admin.1
    );
    let state = idbroker::build_state(oidc::load(&text), Arc::new(SystemClock))
        .await
        .unwrap();
    let url = common::start(state).await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&url)
            .build(),
    );
    let iam = common::iam::iam_sdk(&url, admin);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let arn = format!("arn:aws:iam::123456789012:oidc-provider/{hp}");

    let alice = op_get(&http, &op, "/test/id-token?sub=alice").await;
    assert_eq!(
        exchange(&sts, ROLE, &alice).await.unwrap_err(),
        "InvalidIdentityToken"
    );

    let made = iam
        .create_open_id_connect_provider()
        .url(format!("http://{hp}"))
        .client_id_list("idbroker-test")
        .thumbprint_list("a".repeat(40))
        .send()
        .await
        .unwrap();
    assert_eq!(made.open_id_connect_provider_arn(), Some(arn.as_str()));
    let (sub, key) = exchange(&sts, ROLE, &alice).await.unwrap();
    assert_eq!(sub, "alice");
    assert!(key.starts_with("ASIA"));
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some(hp.as_str()));
    assert_eq!(got.client_id_list(), ["idbroker-test"]);
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(listed.open_id_connect_provider_list().len(), 1);
    let again = iam
        .create_open_id_connect_provider()
        .url(format!("http://{hp}"))
        .client_id_list("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&again),
        Some("EntityAlreadyExists")
    );

    // The token's audience is no longer a client ID of the provider: refused.
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("another-client")
        .send()
        .await
        .unwrap();
    iam.remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("idbroker-test")
        .send()
        .await
        .unwrap();
    let fresh = op_get(&http, &op, "/test/id-token?sub=alice").await;
    assert_eq!(
        exchange(&sts, ROLE, &fresh).await.unwrap_err(),
        "InvalidIdentityToken"
    );
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("idbroker-test")
        .send()
        .await
        .unwrap();
    let fresh = op_get(&http, &op, "/test/id-token?sub=alice").await;
    exchange(&sts, ROLE, &fresh).await.unwrap();

    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    let fresh = op_get(&http, &op, "/test/id-token?sub=alice").await;
    assert_eq!(
        exchange(&sts, ROLE, &fresh).await.unwrap_err(),
        "InvalidIdentityToken"
    );
}
