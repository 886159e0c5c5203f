//! The remote source against a running idbroker (`scripts/bench-verify.sh` starts one and sets
//! the environment): the cold path (a grant asked of idbroker over loopback HTTP: one round trip,
//! the server's store read, unseal and key derivation, the answer parsed and its policies found
//! compiled) and the warm path (the cached grant), in the same run. Prints percentiles of the
//! cold path (`--cold N` lookups, one at a time) and the warm rate.
//!
//! Environment: `IDBROKER_URL`, `IDBROKER_ACCESS_KEY_ID`, `IDBROKER_SECRET_ACCESS_KEY` (the
//! service's key), `BENCH_SERVICE` (its service name), `BENCH_KEY`, `BENCH_SECRET`,
//! `BENCH_TOKEN` (a session of a caller). Without them it says so and measures nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// A benchmark times itself with the real clocks.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use idbroker_sigv4::{sign, Payload, RequestParts, SigningParams};
use idbroker_verify::{RemoteConfig, RemoteSource, RequestFacts, Verifier, VerifierOptions};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(service), Some(key), Some(secret), Some(token)) = (
        var("BENCH_SERVICE"),
        var("BENCH_KEY"),
        var("BENCH_SECRET"),
        var("BENCH_TOKEN"),
    ) else {
        eprintln!(
            "remote bench: BENCH_* not set (scripts/bench-verify.sh sets them); nothing measured"
        );
        return;
    };
    let cold_n: usize = var("BENCH_COLD").map_or(3000, |n| n.parse().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = RemoteConfig::from_env().unwrap();
    let mut options = VerifierOptions::new(&service);
    // No event stream here: the cache TTL alone decides, long enough for the warm loop.
    options.cache_ttl = Duration::from_secs(3600);
    let v = Verifier::new(Arc::new(RemoteSource::new(config).unwrap()), options);

    let now = SystemTime::now();
    let headers = [("host", "things.example.com")];
    let parts = RequestParts {
        method: "GET",
        path: "/things/42",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut params = SigningParams::new(
        &key,
        &secret,
        "us-east-1",
        &service,
        idbroker_session::unix_seconds(now),
    );
    params.security_token = Some(&token);
    let signed = sign(&parts, &params).unwrap();
    let all = signed.headers_after(&headers);
    let parts = RequestParts {
        headers: &all,
        ..parts
    };
    let facts = RequestFacts::at(now);
    let resource = "arn:aws:example:us-east-1:123456789012:thing/42";

    rt.block_on(async {
        // Warm up the connection pool and the policy compile cache.
        for _ in 0..200 {
            v.clear_cache();
            v.verify(&parts, now).await.unwrap();
        }
        let mut cold = Vec::with_capacity(cold_n);
        let started = Instant::now();
        for _ in 0..cold_n {
            v.clear_cache();
            let t = Instant::now();
            let caller = v.verify(&parts, now).await.unwrap();
            std::hint::black_box(v.authorize(&caller, "example:GetThing", resource, &facts));
            cold.push(t.elapsed());
        }
        let total = started.elapsed();
        cold.sort();
        println!(
            "cold (grant asked of idbroker, one at a time): n={cold_n} p50={:?} p90={:?} p99={:?} max={:?} ({:.0}/s sequential)",
            percentile(&cold, 0.50),
            percentile(&cold, 0.90),
            percentile(&cold, 0.99),
            cold[cold.len() - 1],
            cold_n as f64 / total.as_secs_f64()
        );
        let warm_n = 300_000;
        let started = Instant::now();
        for _ in 0..warm_n {
            let caller = v.verify(std::hint::black_box(&parts), now).await.unwrap();
            std::hint::black_box(v.authorize(&caller, "example:GetThing", resource, &facts));
        }
        let took = started.elapsed();
        println!(
            "warm (cached grant) verify+authorize: {:.0}/s on one thread ({:?} each)",
            warm_n as f64 / took.as_secs_f64(),
            took / warm_n
        );
    });
}
