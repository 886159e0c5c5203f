//! Policy documents from untrusted input (session policies arrive in STS requests): the parser,
//! linter and evaluator must never panic, whatever the bytes.
#![no_main]

use idbroker_policy::{
    lint, Context, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Session,
        PolicyKind::Trust,
        PolicyKind::Resource,
    ] {
        let _ = lint(text, ParseOptions::for_kind(kind));
        let opts = ParseOptions {
            kind,
            require_current_version: false,
        };
        let Ok(policy) = Policy::parse_with(text, opts) else {
            continue;
        };
        let mut ctx = Context::new();
        ctx.insert("aws:username", "alice")
            .insert("aws:SourceIp", "203.0.113.9")
            .insert("aws:CurrentTime", "2026-11-28T06:00:00Z")
            .insert_multi("aws:TagKeys", ["a", "b"]);
        let req = Request::new("s3:GetObject", "arn:aws:s3:::bucket/alice/key", ctx)
            .with_principal(Principal::aws("arn:aws:sts::123456789012:assumed-role/R/alice"));
        let set = match kind {
            PolicyKind::Resource | PolicyKind::Trust => PolicySet {
                resource: Some(&policy),
                ..Default::default()
            },
            _ => PolicySet {
                identity: vec![&policy],
                permissions_boundary: Some(&policy),
                session: vec![&policy],
                ..Default::default()
            },
        };
        let _ = set.evaluate(&req);
    }
});
