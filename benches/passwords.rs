//! What one console password check costs (`password::Hasher::verify`, argon2id), at the default
//! `[passwords]` parameters (19 MiB, 2 passes, 1 lane: OWASP's) and at the least the
//! configuration accepts (7 MiB, 1 pass), beside a check against nobody's hash (an unknown
//! user's sign-in, which must cost the same). Each sign-in and each ChangePassword does one
//! (plus one per remembered password for a new one).
//!
//!   cargo bench --bench passwords

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use idbroker::password::{Hasher, RawPasswords, MIN_MEMORY_KIB};

fn checks(c: &mut Criterion) {
    let mut g = c.benchmark_group("password");
    g.sample_size(20);
    for (name, raw) in [
        ("default", RawPasswords::default()),
        (
            "least",
            RawPasswords {
                memory_kib: MIN_MEMORY_KIB,
                iterations: 1,
                ..RawPasswords::default()
            },
        ),
    ] {
        let h = Hasher::new(&raw).unwrap();
        let stored = h.hash("Correct-Horse-Battery-1").unwrap();
        g.bench_function(format!("verify_{name}"), |b| {
            b.iter(|| h.verify(&stored, "Correct-Horse-Battery-2"));
        });
        g.bench_function(format!("verify_absent_{name}"), |b| {
            b.iter(|| h.verify_absent("Correct-Horse-Battery-2"));
        });
    }
    g.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
