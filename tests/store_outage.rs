//! Redis goes away in the middle: issuance answers 503 ServiceUnavailable and hands out no
//! credentials; Redis comes back: the same server recovers without a restart. Uses its own
//! redis-server (common::RedisServer).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};
use idbroker::config::StoreConfig;
use idbroker::state::READINESS_TTL;

mod common;
use common::{demo, start, RedisServer};

#[actix_web::test]
async fn issuance_fails_closed_while_redis_is_down_and_recovers() {
    let mut server = RedisServer::start();
    let mut cfg = demo();
    cfg.store = StoreConfig::Redis {
        url: server.url(),
        prefix: "outage:".into(),
    };
    let state = idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .unwrap();
    let url = start(state).await;
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&url)
        .credentials_provider(Credentials::new(
            "AKIAIDBROKERDEMO0001",
            "idbrokerDemoSecretKeyDoNotUseAnywhere000",
            None,
            None,
            "t",
        ))
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    let sts = aws_sdk_sts::Client::from_conf(conf);
    let assume = || {
        sts.assume_role()
            .role_arn("arn:aws:iam::123456789012:role/demo/ReportsReader")
            .role_session_name("alice")
            .send()
    };

    assert!(assume().await.is_ok());

    server.kill().unwrap();
    server.wait().unwrap();
    let started = Stopwatch::start();
    let err = assume().await.unwrap_err();
    let raw = err.raw_response().expect("an HTTP answer, not a hang");
    assert_eq!(raw.status().as_u16(), 503);
    assert!(!std::str::from_utf8(raw.body().bytes().unwrap())
        .unwrap()
        .contains("SecretAccessKey"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the store timeout"
    );

    server.restart();
    // The connection manager reconnects on its own; allow it a bounded moment.
    let waiting = Stopwatch::start();
    loop {
        match assume().await {
            Ok(out) => {
                assert!(out
                    .credentials()
                    .unwrap()
                    .access_key_id()
                    .starts_with("ASIA"));
                break;
            }
            Err(e) if waiting.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no recovery after Redis restarted: {e:?}"),
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `CONFIG SET maxmemory-policy` on a test's own redis-server.
fn set_policy(server: &RedisServer, policy: &str) {
    config_set(server, "maxmemory-policy", policy);
}

/// A Redis that may evict keys would lose sessions after answering them and resurrect revoked
/// ones (its revocation marks evicted): idbroker refuses to start on it, saying why and how to
/// fix it, unless `store.allow_evicting_policy` says the operator knows.
#[actix_web::test]
async fn an_evicting_redis_is_refused_at_start_unless_allowed() {
    let server = RedisServer::start();
    set_policy(&server, "allkeys-lru");
    let with_store = |cfg: &mut idbroker::config::Config| {
        cfg.store = StoreConfig::Redis {
            url: server.url(),
            prefix: "evict:".into(),
        };
    };
    let mut cfg = demo();
    with_store(&mut cfg);
    let err = idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .expect_err("refused");
    assert!(err.contains("maxmemory-policy allkeys-lru"), "{err}");
    assert!(err.contains("revoked session valid again"), "{err}");
    assert!(err.contains("store.allow_evicting_policy"), "{err}");

    set_policy(&server, "volatile-ttl");
    let mut cfg = demo();
    with_store(&mut cfg);
    assert!(idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .is_err());

    let mut cfg = demo();
    with_store(&mut cfg);
    cfg.store_options.allow_evicting_policy = true;
    assert!(idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .is_ok());

    set_policy(&server, "noeviction");
    let mut cfg = demo();
    with_store(&mut cfg);
    assert!(idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .is_ok());
}

/// A server on its own redis-server, with a clock the test moves (`/readyz` reuses an answer for
/// `READINESS_TTL` of that clock).
async fn server_on(redis: &RedisServer, prefix: &str) -> (String, Arc<ManualClock>) {
    let mut cfg = demo();
    cfg.store = StoreConfig::Redis {
        url: redis.url(),
        prefix: prefix.into(),
    };
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let state = idbroker::build_state(cfg, clock.clone()).await.unwrap();
    (start(state).await, clock)
}

/// `GET /readyz`, the whole answer.
async fn readyz(url: &str) -> String {
    common::get(url, "/readyz").await
}

/// `/readyz` checks the policy: a policy changed on a running Redis (or a failover to a server
/// configured otherwise) takes the replica out of rotation, and back, once the reused answer
/// (`READINESS_TTL`) has aged; within it, a flood of probes costs the store nothing more.
#[actix_web::test]
async fn readiness_fails_while_redis_may_evict() {
    let server = RedisServer::start();
    let (url, clock) = server_on(&server, "evict:").await;
    let ready = readyz(&url).await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    set_policy(&server, "volatile-lru");
    let reused = readyz(&url).await;
    assert!(
        reused.starts_with("HTTP/1.1 200"),
        "within the TTL: {reused}"
    );
    clock.advance(READINESS_TTL);
    let evicting = readyz(&url).await;
    assert!(evicting.starts_with("HTTP/1.1 503"), "{evicting}");
    assert!(
        evicting.contains("maxmemory-policy volatile-lru"),
        "{evicting}"
    );
    set_policy(&server, "noeviction");
    clock.advance(READINESS_TTL);
    let again = readyz(&url).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

/// `/readyz` writes: a Redis that answers pings but refuses writes (out of memory under
/// noeviction) can issue nothing, and the replica is taken out of rotation until it can.
#[actix_web::test]
async fn readiness_fails_while_redis_refuses_writes() {
    let server = RedisServer::start();
    let (url, clock) = server_on(&server, "full:").await;
    let ready = readyz(&url).await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    // Any used memory is over one byte: every write is refused (OOM).
    config_set(&server, "maxmemory", "1");
    clock.advance(READINESS_TTL);
    let full = readyz(&url).await;
    assert!(full.starts_with("HTTP/1.1 503"), "{full}");
    assert!(full.contains("refuses writes"), "{full}");
    config_set(&server, "maxmemory", "0");
    clock.advance(READINESS_TTL);
    let again = readyz(&url).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

/// `CONFIG SET name value` on a test's own redis-server.
fn config_set(server: &RedisServer, name: &str, value: &str) {
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &server.port().to_string(),
            "config",
            "set",
            name,
            value,
        ])
        .output()
        .expect("redis-cli");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("OK"),
        "{out:?}"
    );
}
