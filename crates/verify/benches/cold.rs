//! The cold path: `verify` of a header-signed GET whose session is not cached (the cache TTL is
//! zero, so every call reads the session and its revocation marks from a real Redis on
//! 127.0.0.1:6379, opens the sealed secret and compiles the session's policies), next to the
//! warm path and a bare store read measured in the same run:
//! `cargo bench -p idbroker-verify --bench cold`.
//!
//! Keys go under a prefix of this run's own (`bench-cold-PID:`) and expire with the session
//! (one hour); nothing else in Redis is touched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idbroker_session::{AccessKeyId, RedisOptions, SessionStoreConfig};
use idbroker_verify::{RequestFacts, Verifier, VerifierOptions};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = SessionStoreConfig::Redis {
        url,
        options: RedisOptions {
            prefix: format!("bench-cold-{}:", std::process::id()),
            ..RedisOptions::default()
        },
    };
    let store = rt
        .block_on(idbroker_session::connect(&config))
        .expect("a Redis on 127.0.0.1:6379 (or REDIS_URL)");
    let creds = rt.block_on(mint(&*store, &keys(), &plan(READER)));
    let verifier = |ttl: Duration| {
        let mut opts = VerifierOptions::new("orders");
        opts.cache_ttl = ttl;
        Verifier::new(over(store.clone()), opts)
    };
    // TTL zero: never fresh, every call reads the store. An hour: every call is a cache hit.
    let cold = verifier(Duration::ZERO);
    let warm = verifier(Duration::from_secs(3600));
    let req = Req::new("GET", "/orders/42", b"").signed(
        &creds,
        Some(&creds.token),
        "eu-west-1",
        "orders",
        T0,
        None,
    );
    let h = req.header_refs();
    let parts = req.parts(&h);
    let now = at(T0 + 1);
    let facts = RequestFacts {
        source_ip: Some("10.1.2.3".parse().unwrap()),
        secure_transport: true,
        ..RequestFacts::at(now)
    };
    let res = "arn:aws:orders:eu-west-1:123456789012:order/42";
    let caller = rt.block_on(cold.verify(&parts, now)).unwrap();
    assert!(cold
        .authorize(&caller, "orders:GetOrder", res, &facts)
        .is_allowed());
    let key = AccessKeyId::parse(&creds.id).unwrap();

    let mut g = c.benchmark_group("verify-cold");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify (cold, Redis)", |b| {
        b.iter(|| rt.block_on(cold.verify(black_box(&parts), now)).unwrap())
    });
    g.bench_function("verify+authorize (cold, Redis)", |b| {
        b.iter(|| {
            let caller = rt.block_on(cold.verify(black_box(&parts), now)).unwrap();
            black_box(cold.authorize(&caller, black_box("orders:GetOrder"), res, &facts))
        })
    });
    // Baselines of the same run: the store reads alone (what the cold path adds), and the warm
    // path.
    g.bench_function("store get + is_revoked (Redis)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = store.get(black_box(&key), 0).await.unwrap().unwrap();
                store.is_revoked(&s).await.unwrap()
            })
        })
    });
    g.bench_function("verify (warm)", |b| {
        b.iter(|| rt.block_on(warm.verify(black_box(&parts), now)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
