//! `GET /verify/events` (docs/VERIFIER-PROTOCOL.md): a downstream service's stream of
//! revocations. Refused unsigned and for a service the caller may not verify for; allowed, it
//! says `hello` (the directory's policy version), `alive` every 250 ms while the store's feed is
//! up, and `revoked` within a second of a revocation made through the admin API, on this replica
//! or on another one sharing the Redis store; when Redis goes away it says `down` and stops saying
//! `alive`, and when Redis is back `reset` and `alive` again. Servers in-process on loopback with
//! the demo configuration; calls signed with the project's SigV4 signer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, SystemTime};

use common::admin::{admin, broker, done, Broker};
use idbroker::clock::{Clock, Stopwatch, SystemClock};
use idbroker::config::StoreConfig;
use idbroker::http::verify_events::ALIVE_EVERY;
use idbroker_sigv4::{Payload, RequestParts, SigningParams};
use serde_json::{json, Value};

/// The demo's reports service: may verify for the service `reports` only.
const SVC_KEY: &str = "AKIAIDBROKERDEMOSVC1";
const SVC_SECRET: &str = "idbrokerDemoServiceSecretDoNotUseIt00000";

/// How long a test waits for anything that should take well under a second (a loaded machine).
const PATIENCE: Duration = Duration::from_secs(15);

/// An open event stream and what it has sent that is not yet read.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    /// The next event, `(name, data)`, within `bound` (a comment's name is `:`); `None` when the
    /// stream ended.
    async fn next_within(&mut self, bound: Duration) -> Option<(String, String)> {
        tokio::time::timeout(bound, self.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {bound:?}; unread: {:?}", self.buf))
    }

    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if line.starts_with(':') && name.is_empty() {
                        name = ":".into();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.to_owned();
                    }
                }
                return Some((name, data));
            }
            let chunk = self.resp.chunk().await.unwrap()?;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Skip `alive`, `down`, `reset` and comments until an event named `name`, within `bound`;
    /// its data.
    async fn until(&mut self, name: &str, bound: Duration) -> Value {
        let started = Stopwatch::start();
        loop {
            let left = bound.saturating_sub(started.elapsed());
            let (n, data) = self
                .next_within(left)
                .await
                .unwrap_or_else(|| panic!("the stream ended before `{name}`"));
            if n == name {
                return serde_json::from_str(&data).unwrap();
            }
            assert!(
                ["alive", "down", "reset", ":"].contains(&n.as_str()),
                "unexpected event {n}: {data}"
            );
        }
    }
}

/// `GET /verify/events?service=SERVICE` on `url`, signed by (`key`, `secret`) for the service
/// `idbroker` at `now`, or unsigned.
async fn get(
    url: &str,
    service: &str,
    signer: Option<(&str, &str)>,
    now: SystemTime,
) -> reqwest::Response {
    let query = format!("service={service}");
    let mut req = reqwest::Client::new().get(format!("{url}/verify/events?{query}"));
    if let Some((key, secret)) = signer {
        let host = url.trim_start_matches("http://");
        let headers = [("host", host)];
        let parts = RequestParts {
            method: "GET",
            path: "/verify/events",
            query: &query,
            headers: &headers,
            payload: Payload::Bytes(b""),
        };
        let params = SigningParams::new(
            key,
            secret,
            "us-east-1",
            "idbroker",
            idbroker_session::unix_seconds(now),
        );
        for (n, v) in idbroker_sigv4::sign(&parts, &params).unwrap().headers() {
            req = req.header(n, v);
        }
    }
    req.send().await.unwrap()
}

/// The reports service's stream for `reports` on `b`, after its `hello` (checked).
async fn subscribe(b: &Broker) -> Events {
    let resp = get(&b.url, "reports", Some((SVC_KEY, SVC_SECRET)), b.now()).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    assert_eq!(
        resp.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    let mut events = Events {
        resp,
        buf: String::new(),
    };
    let (name, data) = events.next_within(PATIENCE).await.unwrap();
    assert_eq!(name, "hello");
    let hello: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        hello,
        json!({ "policy_version": b.state.config.directory.version() })
    );
    events
}

/// The JSON error of a refused subscription: status and code.
async fn refusal(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let doc: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    (status, doc["Error"]["Code"].as_str().unwrap().to_owned())
}

/// A session of the demo reader role, issued by `b`; its access key id.
async fn session(b: &Broker, name: &str) -> String {
    common::admin::assume(&b.url, b.now(), common::READER, name, |c| c)
        .await
        .key
}

/// Whether `b`'s metrics have this line.
fn metrics_say(b: &Broker, line: &str) -> bool {
    b.state.metrics.render().lines().any(|l| l == line)
}

/// Poll `cond` until it holds, for at most [`PATIENCE`].
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let started = Stopwatch::start();
    while !cond() {
        assert!(started.elapsed() < PATIENCE, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[actix_web::test]
async fn refused_unsigned_and_for_a_service_the_caller_may_not_verify_for() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let (status, code) = refusal(get(&b.url, "reports", None, b.now()).await).await;
    assert_eq!((status, code.as_str()), (403, "MissingAuthenticationToken"));
    let signed = Some((SVC_KEY, SVC_SECRET));
    let (status, code) = refusal(get(&b.url, "other", signed, b.now()).await).await;
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    let (status, code) = refusal(get(&b.url, "Not-A-Service", signed, b.now()).await).await;
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    assert_eq!(b.state.revocations.open_streams(), 0);
}

/// Memory store: its feed is in-process and always up.
#[actix_web::test]
async fn hello_alive_and_a_revocation_within_a_second() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let victim = session(&b, "victim").await;
    let mut events = subscribe(&b).await;
    assert!(metrics_say(&b, "idbroker_verify_event_streams 1"));
    // Alive, at its pace: three in a row take at least two intervals.
    let started = Stopwatch::start();
    for _ in 0..3 {
        let (name, _) = events.next_within(PATIENCE).await.unwrap();
        assert_eq!(name, "alive");
    }
    assert!(
        started.elapsed() >= ALIVE_EVERY * 2,
        "{:?}",
        started.elapsed()
    );

    done(&b.revoke(&admin(), json!({ "AccessKeyId": victim })).await);
    let revoked_at = Stopwatch::start();
    let data = events.until("revoked", PATIENCE).await;
    let took = revoked_at.elapsed();
    assert_eq!(data, json!({ "session": victim }));
    assert!(took < Duration::from_secs(1), "{took:?}");

    // A scope revocation names the scope.
    done(
        &b.revoke(&admin(), json!({ "RoleArn": common::READER }))
            .await,
    );
    let data = events.until("revoked", PATIENCE).await;
    assert_eq!(data, json!({ "scope": "role", "value": common::READER }));

    // The stream's place is given back once its client has gone (noticed at the next write).
    drop(events);
    let state = b.state.clone();
    wait_until("the stream to close", || {
        state.revocations.open_streams() == 0
    })
    .await;
}

/// Two replicas share a Redis store: a revocation made on A reaches B's stream within a second.
#[actix_web::test]
async fn a_revocation_on_one_replica_reaches_the_stream_of_another_within_a_second() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!(
        "idbroker-events-test-{}-{}:",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let store = || StoreConfig::Redis {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    // The real time: Redis expires records by its own clock.
    let a = broker(store(), SystemClock.now()).await;
    let b = broker(store(), SystemClock.now()).await;
    let victim = session(&a, "victim").await;
    let mut events = subscribe(&b).await;
    // B's hub is subscribed once its stream says alive.
    events.until("alive", PATIENCE).await;

    done(&a.revoke(&admin(), json!({ "AccessKeyId": victim })).await);
    let revoked_at = Stopwatch::start();
    let data = events.until("revoked", PATIENCE).await;
    let took = revoked_at.elapsed();
    println!("replica B's stream named the session revoked on A {took:?} after A answered");
    assert_eq!(data, json!({ "session": victim }));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// Redis goes away under an open stream: `down`, then no event while it is away (a comment
/// each second, so that a stream whose client has gone is still closed); Redis back: `reset`
/// (revocations may have been missed), then `alive` again, and revocations again.
/// Uses a redis-server of its own.
#[actix_web::test]
async fn the_stream_says_down_while_redis_is_away_then_reset() {
    let mut redis = common::RedisServer::start();
    let b = broker(
        StoreConfig::Redis {
            url: redis.url(),
            prefix: "events:".into(),
        },
        SystemClock.now(),
    )
    .await;
    let mut events = subscribe(&b).await;
    events.until("alive", PATIENCE).await;

    redis.kill().unwrap();
    redis.wait().unwrap();
    events.until("down", PATIENCE).await;
    let mut other = subscribe(&b).await;
    other.until("down", PATIENCE).await;
    assert_eq!(b.state.revocations.open_streams(), 2);
    drop(other);
    // Its place is given back although no event is sent while down (a comment is written).
    let state = b.state.clone();
    wait_until("the stream to close", || {
        state.revocations.open_streams() == 1
    })
    .await;
    // While down: no event at all (the verifier hears silence), only a comment each second.
    let started = Stopwatch::start();
    while started.elapsed() < Duration::from_millis(1500) {
        let (name, _) = events.next_within(PATIENCE).await.unwrap();
        assert_eq!(name, ":");
    }

    redis.restart();
    events.until("reset", PATIENCE).await;
    events.until("alive", PATIENCE).await;
    // The restarted Redis is empty: a session issued now (the store reconnects on its own, allow
    // it a bounded moment), revoked, reaches the stream.
    let victim =
        common::admin::assume_once_the_store_is_back(&b.url, b.now(), "after-restart", PATIENCE)
            .await
            .key;
    done(&b.revoke(&admin(), json!({ "AccessKeyId": victim })).await);
    let data = events.until("revoked", PATIENCE).await;
    assert_eq!(data, json!({ "session": victim }));
    drop(events);
    redis.kill().unwrap();
    redis.wait().unwrap();
}
