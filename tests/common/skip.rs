//! The one place a test decides what happens when a peer it needs is missing (Redis, the Redis
//! Cluster, node and its packages, python modules, the `aws` CLI, chromium, ...): on a
//! developer's machine it is skipped, loudly (`SKIPPED: ...` on stderr); under CI (`CI=true`)
//! it fails, because there scripts/test.sh installs or starts every peer and a skip would hide
//! a test that never ran.
//!
//! Std only, so that the workspace crates' tests (which cannot import the root package's
//! tests/common) include this same file:
//! `#[path = "../../../tests/common/skip.rs"] mod skip;` (in crates/verify/tests/common/mod.rs
//! and crates/session/tests/stores.rs).
#![allow(dead_code, clippy::panic)]

/// Whether this is a CI run: `CI` is `true` or `1` (any case), as CI services set it.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A peer is missing (`reason` says which, and how to get it). Under CI: panic (the test fails).
/// Elsewhere: say `SKIPPED: reason` on stderr and return, for the caller to return at once
/// (`return skip_or_fail(...)`) or to leave out only the part that needs the peer.
#[track_caller]
pub fn skip_or_fail(reason: impl std::fmt::Display) {
    if ci() {
        panic!("CI=true and a peer this test needs is missing (scripts/test.sh must provide it): {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}
