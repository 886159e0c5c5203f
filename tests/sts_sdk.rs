//! The server in-process on loopback, called by the real AWS SDK for Rust (aws-sdk-sts) with the
//! demo user's keys: GetCallerIdentity, GetSessionToken, AssumeRole, credentials used in turn,
//! and the failures AWS reports (wrong secret, unknown key, denied role, expired credentials,
//! a store that refuses). Against the in-memory store and a real Redis.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use idbroker::clock::{epoch, Clock, ManualClock, SystemClock};
use idbroker::config::{Config, StoreConfig};

mod common;
use common::{
    demo, get, raw_http, sdk_code as code, sdk_with_keys as client, start, KEY, READER, SECRET,
};
use idbroker_session::{AccessKeyId, RevocationScope, Session, SessionError, SessionStore};

async fn flows(config: Config) {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(config, clock.clone()).await.unwrap();
    let url = start(state).await;
    let demo = client(&url, KEY, SECRET, None, t0);

    let me = demo.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/demo"));
    assert_eq!(me.account(), Some("123456789012"));

    // AssumeRole, then use the session.
    let out = demo
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    assert_eq!(c.secret_access_key().len(), 40);
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice"
    );
    let session = client(
        &url,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        t0,
    );
    let who = session.get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/ReportsReader/alice")
    );
    assert!(who.user_id().unwrap().ends_with(":alice"));

    // The session token is part of the credential: without it, or with another, invalid.
    let no_token = client(&url, c.access_key_id(), c.secret_access_key(), None, t0);
    assert_eq!(
        code(&no_token.get_caller_identity().send().await.unwrap_err()),
        "InvalidClientTokenId"
    );

    // Chaining from ReportsReader: its policies do not allow sts:AssumeRole.
    let err = session
        .assume_role()
        .role_arn(READER)
        .role_session_name("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");

    // GetSessionToken, and its credentials.
    let st = demo
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let sc = st.credentials().unwrap();
    let user_session = client(
        &url,
        sc.access_key_id(),
        sc.secret_access_key(),
        Some(sc.session_token().to_owned()),
        t0,
    );
    assert_eq!(
        user_session
            .get_caller_identity()
            .send()
            .await
            .unwrap()
            .arn(),
        Some("arn:aws:iam::123456789012:user/demo")
    );
    let err = user_session.get_session_token().send().await.unwrap_err();
    assert_eq!(code(&err), "AccessDenied");

    // Expiry: move both clocks past the 900 s lifetime.
    let later = t0 + Duration::from_secs(901);
    clock.set(later);
    let expired = client(
        &url,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        later,
    );
    assert_eq!(
        code(&expired.get_caller_identity().send().await.unwrap_err()),
        "ExpiredToken"
    );
    // A request signed 16 minutes before the server's time is refused.
    clock.set(t0 + Duration::from_secs(16 * 60));
    assert_eq!(
        code(&demo.get_caller_identity().send().await.unwrap_err()),
        "RequestExpired"
    );
    clock.set(t0);

    // Wrong secret, unknown key.
    let wrong = client(
        &url,
        KEY,
        "wrongwrongwrongwrongwrongwrongwrongwrong",
        None,
        t0,
    );
    assert_eq!(
        code(&wrong.get_caller_identity().send().await.unwrap_err()),
        "SignatureDoesNotMatch"
    );
    let unknown = client(&url, "AKIAAAAAAAAAAAAAAAAA", SECRET, None, t0);
    assert_eq!(
        code(&unknown.get_caller_identity().send().await.unwrap_err()),
        "InvalidClientTokenId"
    );

    // Parameter limits and trust rules, as AWS words them.
    let err = demo
        .assume_role()
        .role_arn(READER)
        .role_session_name("a b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
    let err = demo
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/demo/Admin")
        .role_session_name("alice")
        .tags(
            aws_sdk_sts::types::Tag::builder()
                .key("team")
                .value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
    let err = demo
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .policy("{\"Statement\":[]}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedPolicyDocument");
}

#[actix_web::test]
async fn sdk_against_memory_store() {
    flows(demo()).await;
}

#[actix_web::test]
async fn sdk_against_redis() {
    let mut cfg = demo();
    cfg.store = StoreConfig::Redis {
        url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        prefix: format!("idbroker-sdk-test:{}:", std::process::id()),
    };
    flows(cfg).await;
}

/// A store that answers reads but refuses writes.
#[derive(Debug)]
struct RefusingStore;

#[async_trait]
impl SessionStore for RefusingStore {
    async fn put(&self, _: &Session, _: u64) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn get(&self, _: &AccessKeyId, _: u64) -> Result<Option<Session>, SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn delete(&self, _: &AccessKeyId) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn revoke(&self, _: &AccessKeyId) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn set_revoked_before(
        &self,
        _: &RevocationScope,
        _: u64,
        _: u64,
    ) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn revoked_before(&self, _: &RevocationScope) -> Result<Option<u64>, SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn list_sessions(
        &self,
        _: &RevocationScope,
        _: Option<&idbroker_session::ListPosition>,
        _: usize,
        _: u64,
    ) -> Result<idbroker_session::SessionPage, SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn use_once(&self, _: &str, _: &str, _: u64, _: u64) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn admit(
        &self,
        _: &[idbroker_session::RateBucket],
        _: u64,
    ) -> Result<idbroker_session::Admission, SessionError> {
        Err(SessionError::Unavailable)
    }
    async fn ping(&self) -> Result<(), SessionError> {
        Err(SessionError::Unavailable)
    }
}

#[actix_web::test]
async fn no_credentials_when_the_store_refuses() {
    let t0 = SystemClock.now();
    let mut state = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    state.store = Arc::new(RefusingStore);
    // /metrics is served on a listener of its own (server.metrics_listen).
    let (metrics, metrics_at) = idbroker::metrics_server(state.clone(), "127.0.0.1:0").unwrap();
    actix_web::rt::spawn(metrics);
    let url = start(state).await;
    let demo = client(&url, KEY, SECRET, None, t0);
    let err = demo
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceUnavailable");
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 503);
    let body = std::str::from_utf8(raw.body().bytes().unwrap()).unwrap();
    assert!(!body.contains("SecretAccessKey"));
    // Long-term keys still identify (no store needed), and /readyz says the store is down.
    assert!(demo.get_caller_identity().send().await.is_ok());
    let status = get(&url, "/readyz").await;
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    // /metrics counts the refused issuance and the store error.
    let metrics = get(&format!("http://{metrics_at}"), "/metrics").await;
    // The SDK retries a 503; every attempt is counted, and each was a store error.
    let count = |prefix: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let refused =
        count("idbroker_sts_requests_total{action=\"AssumeRole\",outcome=\"ServiceUnavailable\"}");
    assert!(refused >= 1, "{metrics}");
    assert_eq!(count("idbroker_session_store_errors_total"), refused);
    assert!(
        metrics
            .contains("idbroker_sts_requests_total{action=\"GetCallerIdentity\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
}

/// A request signed for another service (here `s3`) with valid keys is refused.
#[actix_web::test]
async fn signatures_for_other_services_are_refused() {
    let t0 = SystemClock.now();
    let state = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url = start(state).await;
    let host = url.trim_start_matches("http://").to_owned();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let now = epoch(t0);
    let send = |service: &'static str| {
        let host = host.clone();
        async move {
            let headers = [
                ("host", host.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ];
            let parts = idbroker_sigv4::RequestParts {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                payload: idbroker_sigv4::Payload::Bytes(body.as_bytes()),
            };
            let params = idbroker_sigv4::SigningParams::new(KEY, SECRET, "us-east-1", service, now);
            let signed = idbroker_sigv4::sign(&parts, &params).unwrap();
            let mut req = format!(
                "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (n, v) in signed.headers() {
                req.push_str(&format!("{n}: {v}\r\n"));
            }
            req.push_str("\r\n");
            req.push_str(body);
            raw_http(&format!("http://{host}"), req).await
        }
    };
    let ok = send("sts").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let other = send("s3").await;
    assert!(other.starts_with("HTTP/1.1 400"), "{other}");
    assert!(
        other.contains("<Code>IncompleteSignature</Code>"),
        "{other}"
    );
}

/// A value added to a signed header that is not visible ASCII (obs-text, e.g. UTF-8) is part of
/// what the signature must cover: it is kept, as a text no header value can hold, so the
/// signature does not match. Regression: STS authentication used to drop such a value, so an
/// unsigned value could ride along a signed header (issue 15, one way to read a request).
#[actix_web::test]
async fn an_unsigned_non_ascii_value_beside_a_signed_header_is_refused() {
    let t0 = SystemClock.now();
    let state = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url = start(state).await;
    let host = url.trim_start_matches("http://").to_owned();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-team", "blue"),
    ];
    let parts = idbroker_sigv4::RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload: idbroker_sigv4::Payload::Bytes(body.as_bytes()),
    };
    let params = idbroker_sigv4::SigningParams::new(KEY, SECRET, "us-east-1", "sts", epoch(t0));
    let signed = idbroker_sigv4::sign(&parts, &params).unwrap();
    let send = |extra: &str| {
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\nX-Team: blue\r\n{extra}",
            body.len()
        );
        for (n, v) in signed.headers() {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        raw_http(&url, req)
    };
    let ok = send("").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let smuggled = send("X-Team: r\u{e9}d\r\n").await;
    assert!(smuggled.starts_with("HTTP/1.1 403"), "{smuggled}");
    assert!(
        smuggled.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{smuggled}"
    );
}

/// Sessions of a role revoked at or after their issue time authenticate nothing; sessions issued
/// afterwards work (AWS's "revoke active sessions").
#[actix_web::test]
async fn revoked_role_sessions_are_refused() {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(demo(), clock.clone()).await.unwrap();
    let store = state.store.clone();
    let url = start(state).await;
    let demo = client(&url, KEY, SECRET, None, t0);
    let assume = || {
        demo.assume_role()
            .role_arn(READER)
            .role_session_name("alice")
            .send()
    };
    let c = assume().await.unwrap().credentials().unwrap().clone();
    let session = client(
        &url,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        t0,
    );
    assert!(session.get_caller_identity().send().await.is_ok());
    let now = epoch(t0);
    store
        .set_revoked_before(
            &idbroker_session::RevocationScope::Role(READER.into()),
            now,
            129_600,
        )
        .await
        .unwrap();
    assert_eq!(
        code(&session.get_caller_identity().send().await.unwrap_err()),
        "InvalidClientTokenId"
    );
    // A session issued after the mark works.
    let later = t0 + Duration::from_secs(2);
    clock.set(later);
    let demo_later = client(&url, KEY, SECRET, None, later);
    let c2 = demo_later
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .send()
        .await
        .unwrap()
        .credentials()
        .unwrap()
        .clone();
    let fresh = client(
        &url,
        c2.access_key_id(),
        c2.secret_access_key(),
        Some(c2.session_token().to_owned()),
        later,
    );
    assert!(fresh.get_caller_identity().send().await.is_ok());
}

/// The same flows against a Redis Cluster (REDIS_CLUSTER_NODES, comma-separated
/// `redis://host:port`; scripts/test.sh starts a 3-master cluster on loopback).
#[actix_web::test]
async fn sdk_against_redis_cluster() {
    let Ok(nodes) = std::env::var("REDIS_CLUSTER_NODES") else {
        return common::skip_or_fail("REDIS_CLUSTER_NODES is not set: the Redis Cluster flows");
    };
    let mut cfg = demo();
    cfg.store = StoreConfig::RedisCluster {
        nodes: nodes
            .split(',')
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
        prefix: format!("idbroker-sdk-cluster:{}:", std::process::id()),
    };
    flows(cfg).await;
}

#[actix_web::test]
async fn an_inactive_key_authenticates_nothing() {
    // The demo configuration with its one key switched off: the right secret no longer counts.
    let file =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "id = \"AKIAIDBROKERDEMO0001\"\n",
        "id = \"AKIAIDBROKERDEMO0001\"\nstatus = \"Inactive\"\n",
    );
    assert!(text.contains("status = \"Inactive\""));
    let t0 = SystemClock.now();
    let config = Config::from_toml(&text, &file, &|_| None, t0).unwrap();
    let state = idbroker::build_state(config, Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url = start(state).await;
    let demo = client(&url, KEY, SECRET, None, t0);
    assert_eq!(
        code(&demo.get_caller_identity().send().await.unwrap_err()),
        "InvalidClientTokenId"
    );
    let err = demo
        .assume_role()
        .role_arn(READER)
        .role_session_name("off")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidClientTokenId");
}

mod switch_store;
use switch_store::{Op, SwitchStore};

/// [`client`] without retries: a 503 is seen as it is, once.
fn client_no_retry(
    url: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
    at: SystemTime,
) -> aws_sdk_sts::Client {
    let conf = client(url, key, secret, token, at)
        .config()
        .to_builder()
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// GetCallerIdentity with these keys: the caller's ARN, or (HTTP status, STS code).
async fn whoami(
    url: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
    at: SystemTime,
) -> Result<String, (u16, String)> {
    client_no_retry(url, key, secret, token, at)
        .get_caller_identity()
        .send()
        .await
        .map(|o| o.arn().unwrap_or_default().to_owned())
        .map_err(|e| {
            let status = e.raw_response().map_or(0, |r| r.status().as_u16());
            (status, code(&e))
        })
}

/// A long-term key (AKIA) signs with its own secret only: sent with a session token, valid or
/// not, it is refused as AWS refuses it (InvalidClientTokenId), for every action.
/// Mutation tried: `|| parsed.security_token().is_some()` removed from authenticate_for.
#[actix_web::test]
async fn a_long_term_key_sent_with_a_session_token_is_refused() {
    let t0 = SystemClock.now();
    let state = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url = start(state).await;
    // Control: the key alone works.
    assert_eq!(
        whoami(&url, KEY, SECRET, None, t0).await.unwrap(),
        "arn:aws:iam::123456789012:user/demo"
    );
    // A real session token (of the demo user's own role session), and a made-up one.
    let c = client(&url, KEY, SECRET, None, t0)
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    for token in [c.session_token, "FwoGZXIvYXdzEBYaDmadeup".to_owned()] {
        assert_eq!(
            whoami(&url, KEY, SECRET, Some(token.clone()), t0).await,
            Err((403, "InvalidClientTokenId".to_owned()))
        );
        let err = client_no_retry(&url, KEY, SECRET, Some(token), t0)
            .assume_role()
            .role_arn(READER)
            .role_session_name("alice")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidClientTokenId");
    }
}

/// A session whose sealed secret this server cannot open (sealed by a replica with another
/// key, or with the same key id and other key bytes) authenticates nothing: not with its real
/// secret, not with an empty one; the answer is InvalidClientTokenId (403), not a 500.
/// Mutation tried: the unseal error replaced by an empty secret in authenticate_for.
#[actix_web::test]
async fn a_secret_that_does_not_unseal_authenticates_nothing() {
    let t0 = SystemClock.now();
    let a = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let url_a = start(a.clone()).await;
    let c = client(&url_a, KEY, SECRET, None, t0)
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let (id, secret, token) = (c.access_key_id, c.secret_access_key, c.session_token);
    // Control: the replica that sealed it.
    assert!(whoami(&url_a, &id, &secret, Some(token.clone()), t0)
        .await
        .unwrap()
        .ends_with("assumed-role/ReportsReader/alice"));
    // Replicas on the same store with other keys.
    let active = a.keys.active_key_id().to_owned();
    for keys in [
        idbroker_session::SealingKeys::new("another-key", &[7u8; 32]).unwrap(),
        idbroker_session::SealingKeys::new(&active, &[7u8; 32]).unwrap(),
    ] {
        let mut b = a.clone();
        b.keys = Arc::new(keys);
        let url_b = start(b).await;
        for s in [secret.as_str(), ""] {
            assert_eq!(
                whoami(&url_b, &id, s, Some(token.clone()), t0).await,
                Err((403, "InvalidClientTokenId".to_owned())),
                "secret {s:?}"
            );
        }
    }
}

/// The store cannot be read while temporary credentials are authenticated (the session, or the
/// revocation marks): 503 ServiceUnavailable, never a 200 nor a 403 that would tell the caller
/// the credentials are bad. Long-term keys need no store. Mutations tried: the store error of
/// `get` read as "no session"; the error of `is_revoked` read as "not revoked".
#[actix_web::test]
async fn the_store_down_while_authenticating_temporary_credentials_is_503() {
    let t0 = SystemClock.now();
    let mut state = idbroker::build_state(demo(), Arc::new(ManualClock::new(t0)))
        .await
        .unwrap();
    let store = SwitchStore::new(state.store.clone());
    state.store = store.clone();
    let url = start(state).await;
    let c = client(&url, KEY, SECRET, None, t0)
        .assume_role()
        .role_arn(READER)
        .role_session_name("alice")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let (id, secret, token) = (c.access_key_id, c.secret_access_key, c.session_token);
    let me = || whoami(&url, &id, &secret, Some(token.clone()), t0);
    assert!(me().await.is_ok());
    for ops in [
        &[Op::Get][..],
        &[Op::RevokedBefore],
        &[Op::Get, Op::RevokedBefore],
    ] {
        store.set(ops, true);
        assert_eq!(
            me().await,
            Err((503, "ServiceUnavailable".to_owned())),
            "{ops:?} down"
        );
        // Long-term keys do not need the store.
        assert!(whoami(&url, KEY, SECRET, None, t0).await.is_ok());
        store.heal();
        assert!(me().await.is_ok(), "{ops:?} back");
    }
}
