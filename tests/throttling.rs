//! Throttling (issue 16): the server in-process on loopback, called by the real AWS SDK for Rust.
//! One abusive key cannot stop issuance for another; unsigned calls are limited per source
//! address before their proof is read and per identity provider once it verified; the answer is
//! AWS's (`Throttling`, "Rate exceeded", 400), which the SDK's standard retry mode retries; the
//! refusals are counted. Against the in-memory store and a real Redis (buckets shared by two
//! server replicas). The clock is a ManualClock: buckets refill when the test moves it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_async::time::StaticTimeSource;
use idbroker::clock::{Clock, ManualClock, SystemClock};
use idbroker::config::Config;

mod common;
use common::{sdk_code as code, start, KEY, READER, SECRET};

/// A second developer, added to the demo configuration by [`config`].
const OTHER_KEY: &str = "AKIAIDBROKEROTHER001";
const OTHER_SECRET: &str = "idbrokerOtherSecretKeyDoNotUseAnywhere00";
const WEB_ROLE: &str = "arn:aws:iam::123456789012:role/demo/WebDeployer";

/// The demo configuration with `throttle` as its `[throttle]` section, and `store` (TOML lines
/// of `[store]`, empty for memory).
fn config(throttle: &str, store: &str, t0: SystemTime) -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("\n[throttle]"));
    if !store.is_empty() {
        let memory = "[store]\nkind = \"memory\"\n";
        assert!(text.contains(memory));
        text = text.replace(memory, &format!("[store]\n{store}\n"));
    }
    text.push_str(&format!(
        "\n[[users]]\nname = \"other\"\ngroups = [\"developers\"]\n\n[[users.access_keys]]\nid = \"{OTHER_KEY}\"\nsecret = {{ value = \"{OTHER_SECRET}\" }}\n"
    ));
    text.push_str(&format!("\n[throttle]\n{throttle}\n"));
    Config::from_toml(&text, &file, &|_| None, t0).unwrap()
}

/// An SDK client with `attempts` attempts per call (standard retry mode, backoff of a
/// millisecond so that a retried call takes no time to speak of).
fn client(
    url: &str,
    key: &str,
    secret: &str,
    at: SystemTime,
    attempts: u32,
) -> aws_sdk_sts::Client {
    let creds = Credentials::new(key, secret, None, None, "test");
    sdk(url, Some(creds), at, attempts)
}

/// A client without credentials (the unsigned actions), one attempt per call.
fn unsigned(url: &str, at: SystemTime) -> aws_sdk_sts::Client {
    sdk(url, None, at, 1)
}

fn sdk(
    url: &str,
    creds: Option<Credentials>,
    at: SystemTime,
    attempts: u32,
) -> aws_sdk_sts::Client {
    let mut conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .time_source(StaticTimeSource::new(at))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        );
    if let Some(c) = creds {
        conf = conf.credentials_provider(c);
    }
    aws_sdk_sts::Client::from_conf(conf.build())
}

async fn assume(c: &aws_sdk_sts::Client, name: &str) -> Result<(), String> {
    c.assume_role()
        .role_arn(READER)
        .role_session_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

/// `idbroker_throttled_calls_total{action, bucket}` as the metrics say (0 when absent).
fn throttled(state: &idbroker::state::AppState, action: &str, bucket: &str) -> u64 {
    let page = state.metrics.render();
    let wanted =
        format!("idbroker_throttled_calls_total{{action=\"{action}\",bucket=\"{bucket}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn one_abusive_key(store: &str) {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let cfg = config("principal = { rate = 1, burst = 5 }", store, t0);
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    let metrics = state.clone();
    // Two replicas of the server on the same store: the buckets are shared.
    let url_a = start(state.clone()).await;
    let url_b = start(state).await;
    let abusive_a = client(&url_a, KEY, SECRET, t0, 1);
    let abusive_b = client(&url_b, KEY, SECRET, t0, 1);
    let other = client(&url_b, OTHER_KEY, OTHER_SECRET, t0, 1);

    for i in 0..5 {
        let c = if i % 2 == 0 { &abusive_a } else { &abusive_b };
        assert_eq!(assume(c, "burst").await, Ok(()), "call {i}");
    }
    for c in [&abusive_a, &abusive_b] {
        let err = c
            .assume_role()
            .role_arn(READER)
            .role_session_name("over")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "Throttling");
        let svc = err.as_service_error().unwrap();
        assert_eq!(
            aws_sdk_sts::error::ProvideErrorMetadata::message(svc),
            Some("Rate exceeded")
        );
        assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    }
    // The other principal issues its whole burst while the first is throttled.
    for _ in 0..5 {
        assert_eq!(assume(&other, "other").await, Ok(()));
    }
    // Another action has buckets of its own.
    abusive_a.get_caller_identity().send().await.unwrap();
    assert_eq!(throttled(&metrics, "AssumeRole", "principal"), 2);

    // A second later the bucket has room for one more.
    clock.advance(Duration::from_secs(1));
    assert_eq!(assume(&abusive_a, "later").await, Ok(()));
    assert_eq!(assume(&abusive_a, "later").await, Err("Throttling".into()));
}

#[actix_web::test]
async fn one_abusive_key_cannot_stop_issuance_for_another_memory() {
    one_abusive_key("").await;
}

#[actix_web::test]
async fn one_abusive_key_cannot_stop_issuance_for_another_redis() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!(
        "idbroker-test:throttle:{}:{}:",
        std::process::id(),
        uuid_ish()
    );
    one_abusive_key(&format!(
        "kind = \"redis\"\nurl = \"{url}\"\nprefix = \"{prefix}\"\nallow_evicting_policy = true"
    ))
    .await;
}

fn uuid_ish() -> u128 {
    SystemClock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[actix_web::test]
async fn the_sdk_retries_a_throttled_call() {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let cfg = config("principal = { rate = 1, burst = 1 }", "", t0);
    let state = idbroker::build_state(cfg, clock).await.unwrap();
    let metrics = state.clone();
    let url = start(state).await;
    let c = client(&url, KEY, SECRET, t0, 3);
    assert_eq!(assume(&c, "first").await, Ok(()));
    // The SDK's standard retry mode takes `Throttling` for a throttling error: three attempts,
    // each refused and counted, before it gives up.
    assert_eq!(assume(&c, "second").await, Err("Throttling".into()));
    assert_eq!(throttled(&metrics, "AssumeRole", "principal"), 3);
}

fn web_token(sub: &str, now: SystemTime) -> String {
    let key =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs/demo/oidc-demo.key"))
            .unwrap();
    idbroker::federation::oidc::demo_token(&key, sub, now, 600).unwrap()
}

async fn web_identity(c: &aws_sdk_sts::Client, token: &str) -> Result<(), String> {
    c.assume_role_with_web_identity()
        .role_arn(WEB_ROLE)
        .role_session_name("web")
        .web_identity_token(token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

#[actix_web::test]
async fn unsigned_calls_are_throttled_by_source_address() {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let cfg = config("source = { rate = 1, burst = 3 }", "", t0);
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    let metrics = state.clone();
    let url = start(state).await;
    let c = unsigned(&url, t0);
    let token = web_token("demo-alice", t0);
    // The address's bucket is taken before the token is read: garbage spends it too.
    assert_eq!(
        web_identity(&c, "not-a-token").await,
        Err("InvalidIdentityToken".into())
    );
    assert_eq!(web_identity(&c, &token).await, Ok(()));
    assert_eq!(web_identity(&c, &token).await, Ok(()));
    assert_eq!(web_identity(&c, &token).await, Err("Throttling".into()));
    assert_eq!(
        throttled(&metrics, "AssumeRoleWithWebIdentity", "source"),
        1
    );
    // The workload endpoint has buckets of its own.
    let answer = common::raw_http(
        &url,
        format!(
            "GET /workload/credentials?RoleArn={WEB_ROLE} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    clock.advance(Duration::from_secs(1));
    assert_eq!(web_identity(&c, &token).await, Ok(()));
}

#[actix_web::test]
async fn a_providers_bucket_is_spent_only_by_its_verified_users() {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let cfg = config(
        "source = { rate = 1000, burst = 1000 }\nprovider = { rate = 1, burst = 2 }",
        "",
        t0,
    );
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    let metrics = state.clone();
    let url = start(state).await;
    let c = unsigned(&url, t0);
    // Forged tokens naming the provider (a valid token with its signature broken) spend
    // nothing of its bucket.
    let token = web_token("demo-bob", t0);
    // One character of the signature changed (not the last: its low bits may be padding).
    let at = token.len() - 10;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    for _ in 0..10 {
        assert_eq!(
            web_identity(&c, &forged).await,
            Err("InvalidIdentityToken".into())
        );
    }
    assert_eq!(web_identity(&c, &token).await, Ok(()));
    assert_eq!(web_identity(&c, &web_token("demo-carol", t0)).await, Ok(()));
    assert_eq!(
        web_identity(&c, &web_token("demo-dave", t0)).await,
        Err("Throttling".into())
    );
    assert_eq!(
        throttled(&metrics, "AssumeRoleWithWebIdentity", "provider"),
        1
    );
}

#[actix_web::test]
async fn throttling_can_be_turned_off() {
    let t0 = SystemClock.now();
    let cfg = config(
        "enabled = false\nprincipal = { rate = 1, burst = 1 }",
        "",
        t0,
    );
    let state = idbroker::build_state(cfg, Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url = start(state).await;
    let c = client(&url, KEY, SECRET, t0, 1);
    for _ in 0..5 {
        assert_eq!(assume(&c, "free").await, Ok(()));
    }
}

mod switch_store;
use switch_store::{Op, SwitchStore};

#[actix_web::test]
async fn with_the_store_away_calls_stay_limited_by_this_replica() {
    let t0 = SystemClock.now();
    let store = SwitchStore::new(Arc::new(idbroker_session::MemoryStore::new()));
    let mut state = idbroker::build_state(
        config("principal = { rate = 1, burst = 2 }", "", t0),
        Arc::new(ManualClock::new(t0)),
    )
    .await
    .unwrap();
    state.store = store.clone();
    let url = start(state).await;
    let c = client(&url, KEY, SECRET, t0, 1);
    store.set(&[Op::Admit], true);
    // GetCallerIdentity needs no store: still answered, and still limited (this replica's
    // buckets).
    c.get_caller_identity().send().await.unwrap();
    c.get_caller_identity().send().await.unwrap();
    let err = c.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&err), "Throttling");
    // The store back: its buckets again (fresh ones, for this test's store).
    store.heal();
    c.get_caller_identity().send().await.unwrap();
}
