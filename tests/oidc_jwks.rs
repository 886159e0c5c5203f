//! A provider's JWKS endpoint misbehaving, served by a tiny HTTP server in this test: down,
//! slow, garbage, an error status. No request waits beyond the fetch timeout; without good keys
//! the answer is IDPCommunicationError; with last good keys they keep serving (bounded
//! staleness) and the failure is counted. Unknown kids trigger one refetch, shared by
//! concurrent requests and rate-limited.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idbroker::clock::{Clock, Stopwatch, SystemClock};
use idbroker::federation::oidc::{OidcError, OidcFederation};
use idbroker_session::MemoryStore;
use oidc::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone)]
enum Mode {
    Serve(String),
    Slow,
    Garbage,
    Status500,
    Close,
}

struct Jwks {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    hits: Arc<AtomicUsize>,
}

async fn jwks_server() -> Jwks {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mode = Arc::new(Mutex::new(Mode::Close));
    let hits = Arc::new(AtomicUsize::new(0));
    let (m, h) = (mode.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let (m, h) = (m.clone(), h.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                h.fetch_add(1, Ordering::SeqCst);
                let mode = m.lock().unwrap().clone();
                let (status, body) = match mode {
                    Mode::Serve(b) => ("200 OK", b),
                    Mode::Garbage => ("200 OK", "<html>not json".to_owned()),
                    Mode::Status500 => ("500 Internal Server Error", String::new()),
                    Mode::Slow => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        ("200 OK", String::new())
                    }
                    Mode::Close => return,
                };
                let resp = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nCache-Control: max-age=60\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Jwks { port, mode, hits }
}

fn code(e: &OidcError) -> &'static str {
    match e {
        OidcError::InvalidToken(_) => "InvalidIdentityToken",
        OidcError::Expired { .. } => "ExpiredTokenException",
        OidcError::RejectedClaim(_) => "IDPRejectedClaim",
        OidcError::Communication(_) => "IDPCommunicationError",
        OidcError::StoreUnavailable => "ServiceUnavailable",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_down_slow_garbage_rotation_and_refetch_limits() {
    install_crypto();
    let srv = jwks_server().await;
    let outcomes: Arc<Mutex<Vec<String>>> = Arc::default();
    let o = outcomes.clone();
    let observer: idbroker::federation::fetch::FetchObserver =
        Arc::new(move |p: &str, outcome: &str| o.lock().unwrap().push(format!("{p} {outcome}")));
    let extra = format!(
        "jwks_uri = \"http://127.0.0.1:{}/jwks\"\nallow_http_loopback = true\nfetch_timeout_ms = 500\njwks_max_stale_seconds = 3600",
        srv.port
    );
    let cfg = load(&config_text(&extra, ""));
    let fed = Arc::new(OidcFederation::new(&cfg.oidc_providers, Some(observer)).unwrap());
    let store = Arc::new(MemoryStore::new());
    let store = store.as_ref();
    let k1 = rsa_key("k1", "RS256");
    let k2 = rsa_key("k2", "RS256");
    let t0 = SystemClock.now();
    let at = move |s: u64| t0 + Duration::from_secs(s);
    // Long-lived tokens: the test moves time by hours.
    let long = {
        let mut c = claims("alice", t0);
        c["exp"] = serde_json::json!(epoch(t0) + 100_000);
        c
    };
    let tok1 = sign(&k1, &long);
    let tok2 = sign(&k2, &long);

    // Down, slow, garbage, 500: no keys yet -> IDPCommunicationError, within the timeout.
    let mut now = 0;
    for (name, mode) in [
        ("down", Mode::Close),
        ("slow", Mode::Slow),
        ("garbage", Mode::Garbage),
        ("500", Mode::Status500),
    ] {
        *srv.mode.lock().unwrap() = mode;
        now += 11; // past the refetch interval, so each case fetches
        let started = Stopwatch::start();
        let e = fed.verify(&tok1, store, at(now)).await.unwrap_err();
        assert_eq!(code(&e), "IDPCommunicationError", "{name}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name}: took {:?}",
            started.elapsed()
        );
    }
    // Within the refetch interval a failing provider is not asked again.
    let hits = srv.hits.load(Ordering::SeqCst);
    assert_eq!(
        code(&fed.verify(&tok1, store, at(now + 1)).await.unwrap_err()),
        "IDPCommunicationError"
    );
    assert_eq!(srv.hits.load(Ordering::SeqCst), hits);

    // Up: keys fetched, cached for max-age.
    *srv.mode.lock().unwrap() = Mode::Serve(jwks(&[&k1]));
    now += 11;
    fed.verify(&tok1, store, at(now)).await.unwrap();
    let hits = srv.hits.load(Ordering::SeqCst);
    fed.verify(&tok1, store, at(now + 30)).await.unwrap();
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        hits,
        "cached within max-age"
    );

    // Rotation upstream (k2 added): 20 concurrent requests with the unknown kid cause one fetch.
    *srv.mode.lock().unwrap() = Mode::Serve(jwks(&[&k2, &k1]));
    now += 30;
    let shared_store = Arc::new(MemoryStore::new());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (fed, st, tok) = (fed.clone(), shared_store.clone(), tok2.clone());
            tokio::spawn(async move { fed.verify(&tok, st.as_ref(), at(now)).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        hits + 1,
        "one refetch for 20 requests"
    );

    // An unknown kid again right away: rate-limited, no fetch, refused.
    let k3 = rsa_key("k3", "RS256");
    let tok3 = sign(&k3, &long);
    assert_eq!(
        code(&fed.verify(&tok3, store, at(now + 1)).await.unwrap_err()),
        "InvalidIdentityToken"
    );
    assert_eq!(srv.hits.load(Ordering::SeqCst), hits + 1);

    // The endpoint breaks after the cache expired: the last good keys keep serving (stale)...
    *srv.mode.lock().unwrap() = Mode::Garbage;
    now += 120;
    fed.verify(&tok1, store, at(now)).await.unwrap();
    // ...but only for jwks_max_stale_seconds.
    let e = fed.verify(&tok1, store, at(now + 3700)).await.unwrap_err();
    assert_eq!(code(&e), "IDPCommunicationError");

    // k1 removed upstream: after a refetch its tokens stop working.
    *srv.mode.lock().unwrap() = Mode::Serve(jwks(&[&k2]));
    now += 3700 + 11;
    fed.verify(&tok2, store, at(now)).await.unwrap();
    assert_eq!(
        code(&fed.verify(&tok1, store, at(now + 1)).await.unwrap_err()),
        "InvalidIdentityToken"
    );

    let seen = outcomes.lock().unwrap().clone();
    let count = |o: &str| seen.iter().filter(|s| s.ends_with(o)).count();
    assert!(
        count(" error") >= 5 && count(" stale") >= 1 && count(" ok") >= 3,
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| s.starts_with(HOST_PATH)), "{seen:?}");
}
