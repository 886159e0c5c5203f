//! Concurrent cold lookups of one scope ask the source once; a refusal is not shared (a request
//! with a wrong token cannot make a concurrent right one fail); an abandoned first lookup does
//! not leave the others waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use idbroker_session::{MemoryStore, SessionStore};
use idbroker_verify::{
    EventStream, Grant, KeyAsk, KeySource, Verifier, VerifierOptions, VerifyError,
};

/// The store's grants, each asked after `delay`, counted.
#[derive(Debug)]
struct Slow {
    inner: Arc<dyn KeySource>,
    asked: AtomicUsize,
    delay: Duration,
}

#[async_trait]
impl KeySource for Slow {
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.inner.grant(ask).await
    }

    async fn events(
        &self,
        _service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError> {
        Ok(None)
    }
}

fn get(c: &Creds, token: &str, t: u64) -> Req {
    Req::new("GET", "/orders/42", b"").signed(c, Some(token), "eu-west-1", "orders", t, None)
}

async fn verify(v: &Verifier, r: &Req, now: u64) -> Result<(), VerifyError> {
    let h = r.header_refs();
    v.verify(&r.parts(&h), at(now)).await.map(|_| ())
}

async fn setup() -> (Arc<Slow>, Arc<Verifier>, Creds) {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let c = mint(&*store, &keys(), &plan(READER)).await;
    let slow = Arc::new(Slow {
        inner: over(store),
        asked: AtomicUsize::new(0),
        delay: Duration::from_millis(50),
    });
    let v = Arc::new(Verifier::new(slow.clone(), VerifierOptions::new("orders")));
    (slow, v, c)
}

#[tokio::test(start_paused = true)]
async fn concurrent_cold_lookups_ask_once() {
    let (slow, v, c) = setup().await;
    let r = get(&c, &c.token, T0);
    let all: Vec<_> = (0..16)
        .map(|_| {
            let (v, r) = (v.clone(), r.clone());
            tokio::spawn(async move { verify(&v, &r, T0).await })
        })
        .collect();
    for t in all {
        t.await.unwrap().unwrap();
    }
    assert_eq!(slow.asked.load(Ordering::SeqCst), 1);
    // Cached now: no more asking.
    verify(&v, &r, T0).await.unwrap();
    assert_eq!(slow.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_token_does_not_fail_a_concurrent_right_one() {
    let (slow, v, c) = setup().await;
    let wrong = get(&c, "not-the-token", T0);
    let right = get(&c, &c.token, T0);
    let (w, r) = (v.clone(), v.clone());
    let first = tokio::spawn(async move { verify(&w, &wrong, T0).await });
    tokio::task::yield_now().await;
    let second = tokio::spawn(async move { verify(&r, &right, T0).await });
    assert_eq!(
        first.await.unwrap().unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    second.await.unwrap().unwrap();
    assert_eq!(
        slow.asked.load(Ordering::SeqCst),
        2,
        "two tokens, two flights"
    );
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_first_lookup_does_not_strand_the_others() {
    let (slow, v, c) = setup().await;
    let r = get(&c, &c.token, T0);
    let (a, b) = (v.clone(), v.clone());
    let (ra, rb) = (r.clone(), r.clone());
    let first = tokio::spawn(async move { verify(&a, &ra, T0).await });
    tokio::task::yield_now().await;
    let second = tokio::spawn(async move { verify(&b, &rb, T0).await });
    tokio::task::yield_now().await;
    first.abort();
    second.await.unwrap().unwrap();
    assert_eq!(slow.asked.load(Ordering::SeqCst), 2);
}
