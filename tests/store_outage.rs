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
use idbroker::clock::{Stopwatch, SystemClock};
use idbroker::config::StoreConfig;

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
