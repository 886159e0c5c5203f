//! `verify` + `authorize` of a header-signed GET with a warm session cache (no store round
//! trip): `cargo bench -p idbroker-verify --bench verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idbroker_session::{MemoryStore, SessionStore};
use idbroker_verify::{RequestFacts, Verifier, VerifierOptions};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let creds = rt.block_on(mint(&*store, &keys(), &plan(READER)));
    // An hour-long cache TTL: every iteration is a cache hit.
    let mut opts = VerifierOptions::new("orders");
    opts.cache_ttl = std::time::Duration::from_secs(3600);
    let v = Verifier::new(over(store), opts);
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
    let caller = rt.block_on(v.verify(&parts, now)).unwrap();
    assert!(v
        .authorize(&caller, "orders:GetOrder", res, &facts)
        .is_allowed());

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify+authorize (warm)", |b| {
        b.iter(|| {
            let caller = rt.block_on(v.verify(black_box(&parts), now)).unwrap();
            black_box(v.authorize(&caller, black_box("orders:GetOrder"), res, &facts))
        })
    });
    g.bench_function("verify (warm)", |b| {
        b.iter(|| rt.block_on(v.verify(black_box(&parts), now)).unwrap())
    });
    g.bench_function("authorize", |b| {
        b.iter(|| v.authorize(&caller, black_box("orders:GetOrder"), res, &facts))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
