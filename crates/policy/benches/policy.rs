//! Benchmarks of the policy engine (see docs/PERFORMANCE.md).
//!
//! - parse/10-statements: validate and compile a 10-statement policy;
//! - evaluate/3x10: a request against 3 policies of 10 statements with conditions and wildcards;
//! - evaluate/100-policies: a request against 100 such policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idbroker_policy::{Decision, Policy, PolicyKind, PolicySet};

mod workload;
use workload::{compile, policy_text, request};

fn benches(c: &mut Criterion) {
    let text = policy_text(0);
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("10-statements", |b| {
        b.iter(|| Policy::parse(black_box(&text), PolicyKind::Identity).expect("valid"))
    });
    g.finish();

    let three: Vec<Policy> = (0..3).map(compile).collect();
    let set = PolicySet {
        identity: three.iter().collect(),
        ..Default::default()
    };
    let req = request(1);
    assert_eq!(set.evaluate(&req).decision, Decision::Allow);
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("3x10", |b| b.iter(|| set.evaluate(black_box(&req))));
    g.bench_function("3x10-with-request-setup", |b| {
        b.iter(|| set.evaluate(&request(black_box(1))))
    });

    let hundred: Vec<Policy> = (0..100).map(compile).collect();
    let big = PolicySet {
        identity: hundred.iter().collect(),
        ..Default::default()
    };
    let req = request(57);
    assert_eq!(big.evaluate(&req).decision, Decision::Allow);
    g.bench_function("100-policies", |b| b.iter(|| big.evaluate(black_box(&req))));
    g.finish();
}

criterion_group!(policy, benches);
criterion_main!(policy);
