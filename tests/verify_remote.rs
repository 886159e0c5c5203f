//! `idbroker-verify`'s remote source against a real idbroker, through a loopback proxy the test
//! can cut: the verifier knows idbroker's URL and the demo things-service's own key, nothing
//! else. The stream cut and restored (revocations made meanwhile are not missed), idbroker down
//! (cold lookups fail closed within the call's timeout; nothing cached outlives the bound),
//! idbroker restarted under load, k8s tokens checked by idbroker, a service not allowed to
//! verify for a service failing closed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::admin::{admin, assume, broker, done, Broker, Creds, THINGS_KEY, THINGS_SECRET};
use common::READER;
use idbroker::clock::{Clock, Stopwatch, SystemClock};
use idbroker::config::StoreConfig;
use idbroker_sigv4::{sign, Payload, RequestParts, SigningForm, SigningParams};
use idbroker_verify::{K8sTokenError, RemoteConfig, Verifier, VerifierOptions, VerifyError};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to idbroker that can be cut (every connection closed, new ones refused) and
/// pointed at another backend (a restarted idbroker).
struct Proxy {
    addr: SocketAddr,
    backend: Arc<Mutex<Option<SocketAddr>>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn to(backend: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = Arc::new(Mutex::new(Some(parse(backend))));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (b, c) = (backend.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let Some(to) = *b.lock().unwrap() else {
                    drop(client); // down: closed at once
                    continue;
                };
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Proxy {
            addr,
            backend,
            conns,
            _accept: accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Close every connection and refuse new ones.
    fn cut(&self) {
        *self.backend.lock().unwrap() = None;
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Forward new connections to `backend` again.
    fn restore(&self, backend: &str) {
        *self.backend.lock().unwrap() = Some(parse(backend));
    }
}

fn parse(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().unwrap()
}

/// A verifier of `example` requests that knows `url` and the service's key only.
fn remote(url: &str, b: &Broker) -> Verifier {
    let mut config = RemoteConfig::new(url, THINGS_KEY, THINGS_SECRET);
    let clock = b.clock.clone();
    config.clock = Arc::new(move || clock.now());
    Verifier::remote(config, VerifierOptions::new("example")).unwrap()
}

/// Sign a request to the example service with `c` at `now` and verify it with `v`.
async fn verify(v: &Verifier, c: &Creds, now: SystemTime) -> Result<(), VerifyError> {
    verify_as(v, c, now, ("things.example.com", "example")).await
}

/// Sign a GET for `(host, service)` with `c` at `now` and verify it with `v`.
async fn verify_as(
    v: &Verifier,
    c: &Creds,
    now: SystemTime,
    (host, service): (&str, &str),
) -> Result<(), VerifyError> {
    let headers = [("host", host)];
    let parts = RequestParts {
        method: "GET",
        path: "/things",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut params = SigningParams::new(
        &c.key,
        &c.secret,
        "us-east-1",
        service,
        idbroker_session::unix_seconds(now),
    );
    params.security_token = c.token.as_deref();
    let signed = sign(&parts, &params).unwrap();
    let all = signed.headers_after(&headers);
    v.verify(
        &RequestParts {
            headers: &all,
            ..parts
        },
        now,
    )
    .await
    .map(|_| ())
}

async fn wait_until(what: &str, bound: Duration, cond: impl Fn() -> bool) {
    let started = Stopwatch::start();
    while !cond() {
        assert!(started.elapsed() < bound, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn reader(b: &Broker, name: &str) -> Creds {
    assume(&b.url, b.now(), READER, name, |c| c).await
}

/// The stream is cut: the verifier notices, uses what it cached for at most the cache TTL, then
/// fails closed; a revocation made while it was cut is not missed once the stream is back, and
/// the next one arrives through the stream within a second.
#[actix_web::test]
async fn stream_cut_and_restored() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let proxy = Proxy::to(&b.url).await;
    let v = remote(&proxy.url(), &b);
    let (alice, bob) = (reader(&b, "alice").await, reader(&b, "bob").await);
    wait_until("the stream", Duration::from_secs(10), || {
        v.revocation_feed_up()
    })
    .await;
    verify(&v, &alice, b.now()).await.unwrap();
    verify(&v, &bob, b.now()).await.unwrap();

    proxy.cut();
    wait_until("the stream's loss", Duration::from_secs(3), || {
        !v.revocation_feed_up()
    })
    .await;
    // Revoked while the verifier cannot hear it.
    done(
        &b.revoke(&admin(), json!({ "AccessKeyId": alice.key }))
            .await,
    );
    // Within the cache TTL of its grant the cached entry still answers; past it, the verifier
    // must ask and cannot: 503, never the cached answer.
    b.clock.advance(Duration::from_millis(1001));
    assert_eq!(
        verify(&v, &alice, b.now()).await.unwrap_err(),
        VerifyError::ServiceUnavailable
    );
    assert_eq!(
        verify(&v, &bob, b.now()).await.unwrap_err(),
        VerifyError::ServiceUnavailable
    );

    proxy.restore(&b.url);
    wait_until("the stream back", Duration::from_secs(10), || {
        v.revocation_feed_up()
    })
    .await;
    assert_eq!(
        verify(&v, &alice, b.now()).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    verify(&v, &bob, b.now()).await.unwrap();
    // And through the stream again: within a second, the grant being fresh.
    let seen = v.revocations_seen();
    done(&b.revoke(&admin(), json!({ "AccessKeyId": bob.key })).await);
    let revoked = Stopwatch::start();
    wait_until("the eviction", Duration::from_secs(5), || {
        v.revocations_seen() > seen
    })
    .await;
    assert!(
        revoked.elapsed() < Duration::from_secs(1),
        "{:?}",
        revoked.elapsed()
    );
    assert_eq!(
        verify(&v, &bob, b.now()).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
}

/// idbroker does not answer (a listener that accepts and stays silent): a cold lookup fails
/// closed (503) within the call's timeout; refused connections fail at once.
#[actix_web::test]
async fn idbroker_down_fails_cold_lookups_closed_within_the_timeout() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let alice = reader(&b, "alice").await;
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut config = RemoteConfig::new(&silent_url, THINGS_KEY, THINGS_SECRET);
    config.timeout = Duration::from_millis(500);
    let v = Verifier::new(
        Arc::new(idbroker_verify::RemoteSource::new(config).unwrap()),
        VerifierOptions::new("example"),
    );
    let started = Stopwatch::start();
    assert_eq!(
        verify(&v, &alice, b.now()).await.unwrap_err(),
        VerifyError::ServiceUnavailable
    );
    let took = started.elapsed();
    println!("idbroker silent: the cold lookup failed closed after {took:?} (timeout 500 ms)");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(2),
        "{took:?}"
    );
    held.abort();

    // Nothing listening: refused at once.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let v = remote(&closed_url, &b);
    let started = Stopwatch::start();
    assert_eq!(
        verify(&v, &alice, b.now()).await.unwrap_err(),
        VerifyError::ServiceUnavailable
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// When (since the load began), whether it was the victim's, and the outcome.
type Verification = (Duration, bool, Result<(), VerifyError>);

/// idbroker restarted (a new process state on the same Redis) under a steady load of
/// verifications; a session revoked while it was down is never accepted more than the bound
/// (1 s) after the revocation, other sessions recover without the verifier being touched.
#[actix_web::test]
async fn idbroker_restarted_under_load() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let store = StoreConfig::Redis {
        url,
        prefix: format!(
            "idbroker-remote-test-{}-{}:",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ),
    };
    let first = broker(store.clone(), SystemClock.now()).await;
    let proxy = Proxy::to(&first.url).await;
    let v = Arc::new(remote(&proxy.url(), &first));
    let (victim, bystander) = (
        reader(&first, "victim").await,
        reader(&first, "bystander").await,
    );
    wait_until("the stream", Duration::from_secs(10), || {
        v.revocation_feed_up()
    })
    .await;

    // The load: both sessions, as fast as they verify, on the real clock.
    let log: Arc<Mutex<Vec<Verification>>> = Arc::default();
    let origin = Stopwatch::start();
    let load = {
        let (v, log) = (v.clone(), log.clone());
        let (victim, bystander) = (victim.clone(), bystander.clone());
        tokio::spawn(async move {
            loop {
                for (is_victim, c) in [(true, &victim), (false, &bystander)] {
                    let r = verify(&v, c, SystemClock.now()).await;
                    log.lock().unwrap().push((origin.elapsed(), is_victim, r));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Down; the victim revoked in the store meanwhile; a new idbroker comes up.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    first
        .state
        .store
        .revoke(&idbroker_session::AccessKeyId::parse(&victim.key).unwrap())
        .await
        .unwrap();
    let revoked_at = origin.elapsed();
    let second = common::admin::replica(&first, store).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.restore(&second.url);
    wait_until("the stream back", Duration::from_secs(10), || {
        v.revocation_feed_up()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.abort();

    let log = log.lock().unwrap();
    let last_victim_ok = log
        .iter()
        .filter(|(_, is_victim, r)| *is_victim && r.is_ok())
        .map(|(at, _, _)| *at)
        .max()
        .unwrap();
    // The bound: a grant fetched before the revocation is used for at most a second once the
    // stream is down (plus one request in flight).
    assert!(
        last_victim_ok < revoked_at + Duration::from_millis(1100),
        "the revoked session was accepted {:?} after its revocation",
        last_victim_ok.saturating_sub(revoked_at)
    );
    for (at, is_victim, r) in log.iter() {
        match r {
            Ok(()) => {}
            Err(VerifyError::ServiceUnavailable) => {}
            Err(VerifyError::InvalidClientTokenId) if *is_victim && *at > revoked_at => {}
            Err(e) => panic!("at {at:?} (victim: {is_victim}): {e:?}"),
        }
    }
    // After the restart: the victim refused, the bystander verified.
    let tail: Vec<_> = log.iter().rev().take(20).collect();
    assert!(tail
        .iter()
        .any(|(_, is_victim, r)| !*is_victim && r.is_ok()));
    assert!(tail
        .iter()
        .filter(|(_, is_victim, _)| *is_victim)
        .all(|(_, _, r)| *r == Err(VerifyError::InvalidClientTokenId)));
    let outage = log
        .iter()
        .filter(|(_, _, r)| *r == Err(VerifyError::ServiceUnavailable))
        .count();
    println!(
        "{} verifications, {outage} failed closed during the restart; the victim last accepted {:?} after its revocation",
        log.len(),
        last_victim_ok.saturating_sub(revoked_at)
    );
}

/// A k8s-aws-v1 token presigned for the demo's STS host and the cluster `demo`.
fn k8s_token(c: &Creds, cluster: &str, at: SystemTime) -> String {
    let host = "127.0.0.1:8080";
    let headers = [("host", host), ("x-k8s-aws-id", cluster)];
    let query = "Action=GetCallerIdentity&Version=2011-06-15";
    let req = RequestParts {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut p = SigningParams::new(
        &c.key,
        &c.secret,
        "us-east-1",
        "sts",
        idbroker_session::unix_seconds(at),
    );
    p.security_token = c.token.as_deref();
    p.form = SigningForm::Presigned { expires_in: 60 };
    let signed = sign(&req, &p).unwrap();
    let url = format!("https://{host}/?{}", signed.query());
    format!(
        "k8s-aws-v1.{}",
        data_encoding::BASE64URL_NOPAD.encode(url.as_bytes())
    )
}

/// k8s tokens are checked by idbroker (the verifier forwards them; no service holds a key for
/// `sts`): the right cluster verifies, another cluster, a revoked session or a cluster the
/// service may not verify for do not.
#[actix_web::test]
async fn k8s_tokens_are_checked_by_idbroker() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let v = remote(&b.url, &b);
    let alice = reader(&b, "alice").await;
    let token = k8s_token(&alice, "demo", b.now());
    let caller = v.verify_k8s_token(&token, "demo", b.now()).await.unwrap();
    assert_eq!(
        caller.arn(),
        "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice"
    );
    assert_eq!(caller.service(), "sts");
    // The server's policies came with it.
    assert!(!caller.policies().identity.is_empty());

    // Made for the cluster `demo`, presented as another: the signature covers the cluster id.
    let other = k8s_token(&alice, "other", b.now());
    let err = v
        .verify_k8s_token(&other, "demo", b.now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        K8sTokenError::Verify(VerifyError::SignatureDoesNotMatch)
    );
    // A cluster this service may not verify for: fails closed.
    let err = v
        .verify_k8s_token(&other, "other", b.now())
        .await
        .unwrap_err();
    assert_eq!(err, K8sTokenError::Verify(VerifyError::ServiceUnavailable));
    // Revoked: refused once the revocation reached idbroker's own verifier (its event feed,
    // within the 1 s bound; it races the API's answer by a little).
    done(
        &b.revoke(&admin(), json!({ "AccessKeyId": alice.key }))
            .await,
    );
    let revoked = Stopwatch::start();
    loop {
        match v.verify_k8s_token(&token, "demo", b.now()).await {
            Err(K8sTokenError::Verify(VerifyError::InvalidClientTokenId)) => break,
            Ok(_) => assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "a revoked session's token still verified after a second"
            ),
            Err(e) => panic!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Not a token.
    let err = v
        .verify_k8s_token("k8s-aws-v1.!!!", "demo", b.now())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidToken");
}

/// A service whose policies do not allow verifying for a service gets no key: every request of
/// that service fails closed (503), none is accepted.
#[actix_web::test]
async fn a_service_not_allowed_fails_closed() {
    let b = broker(StoreConfig::Memory, SystemClock.now()).await;
    let alice = reader(&b, "alice").await;
    let mut config = RemoteConfig::new(&b.url, THINGS_KEY, THINGS_SECRET);
    let clock = b.clock.clone();
    config.clock = Arc::new(move || clock.now());
    // things-service may verify `example` only; this verifier is for `reports`.
    let v = Verifier::remote(config, VerifierOptions::new("reports")).unwrap();
    assert_eq!(
        verify_as(&v, &alice, b.now(), ("reports.example.com", "reports"))
            .await
            .unwrap_err(),
        VerifyError::ServiceUnavailable
    );
}
