//! A fixed number of evaluations of the benchmark's 3x10 case, for instruction counting with
//! `valgrind --tool=callgrind` (deterministic where wall-clock timings on a shared machine are
//! not): `cargo build --release -p idbroker-policy --example eval_loop` then
//! `valgrind --tool=callgrind target/release/examples/eval_loop 100000`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use idbroker_policy::{Decision, Policy, PolicySet};

#[path = "../benches/workload.rs"]
mod workload;
use workload::{compile, request};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let three: Vec<Policy> = (0..3).map(compile).collect();
    let set = PolicySet {
        identity: three.iter().collect(),
        ..Default::default()
    };
    let req = request(1);
    let mut allowed = 0usize;
    for _ in 0..n {
        if set.evaluate(black_box(&req)).decision == Decision::Allow {
            allowed += 1;
        }
    }
    println!("{allowed} of {n} allowed");
}
