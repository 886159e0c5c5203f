//! JWS parsing and signature checking (src/federation/oidc/jwk.rs): arbitrary compact tokens
//! against the demo JWKS, and arbitrary JWKS documents. Neither may panic; a token that verifies
//! must be one the demo key really signed, which random input never is.
#![no_main]

use idbroker::federation::oidc::{AlgSet, KeySet};
use libfuzzer_sys::fuzz_target;

const DEMO_JWKS: &[u8] = include_bytes!("../../certs/demo/oidc-demo-jwks.json");

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else { return };
        let Ok((keys, _)) = KeySet::from_jwks(DEMO_JWKS, AlgSet::ALL) else { return };
        if let Ok(payload) = keys.verify_signature(token, AlgSet::ALL) {
            panic!("a fuzzed token verified: {} bytes of payload", payload.len());
        }
    } else if let Ok((keys, _)) = KeySet::from_jwks(rest, AlgSet::ALL) {
        let _ = keys.verify_signature("e30.e30.AAAA", AlgSet::ALL);
    }
});
