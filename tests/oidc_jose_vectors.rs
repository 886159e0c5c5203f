//! The JOSE corpora in tests/data/jose against idbroker's JWS verification
//! (`KeySet::verify_signature`, the step before claims): every Wycheproof JWS vector, the JWK-set
//! vectors, the JWS part of the crypto vectors, and the RFC 7515 / RFC 7520 examples.
//!
//! Every vector's outcome is predicted from the vector alone (its header, its key, what its
//! comment says it breaks) and must be idbroker's, reason included, so that no vector counts as
//! rejected for a reason it is not about:
//! - an invalid vector with a key idbroker takes is rejected for its own defect: the signature,
//!   the compact form, an unknown kid, a header alg the key does not allow;
//! - an invalid vector about its key (wrong `use` or `key_ops`, ROCA, 1024 bits, e = 1, alg and
//!   curve mismatched, modified key) is rejected because the key is refused (an empty key set,
//!   then no key for the token), and counted apart;
//! - an invalid vector in an algorithm idbroker never verifies (HMAC, ES512, none) is rejected
//!   for that algorithm before its defect is looked at: counted apart, not as a rejection of the
//!   defect;
//! - a JWS vector (not about its key) whose key idbroker does not take would be "rejected" only
//!   because there is no key: that is a failure of this test, not a rejection.
//!
//! Valid vectors must verify when idbroker supports their algorithm and key (RS/PS 256-512 with
//! RSA ≥ 2048 bits, ES256, ES384); valid vectors outside that set (HMAC, ES512, JSON
//! serialization, a header alg other than the JWK's, base64 idbroker reads strictly) are refused
//! by policy, and counted by reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc;

use std::collections::BTreeMap;

use idbroker::federation::oidc::{AlgSet, KeySet, SigFailure};
use serde_json::{json, Value};

#[derive(Default, Debug)]
struct Tally {
    valid_accepted: usize,
    /// Valid vectors outside what idbroker verifies, by the reason given.
    valid_refused_by_policy: BTreeMap<&'static str, usize>,
    /// Invalid vectors rejected for their own defect, by reason.
    invalid_rejected: BTreeMap<&'static str, usize>,
    /// Invalid vectors about their key, rejected because idbroker refuses the key.
    invalid_key_refused: usize,
    /// Invalid vectors in an algorithm idbroker never verifies: rejected for the algorithm.
    invalid_in_unsupported_alg: usize,
    failures: Vec<String>,
}

const UNKNOWN_KEY: &str = "no key for the token's kid and alg";
const ALG_NOT_ALLOWED: &str = "algorithm not allowed";
const KID_ALG: &str = "the key of this kid does not allow this alg";

fn header_of(jws: &str) -> Option<Value> {
    let h = data_encoding::BASE64URL_NOPAD
        .decode(jws.split('.').next()?.as_bytes())
        .ok()?;
    serde_json::from_slice(&h).ok()
}

fn supported(alg: &str) -> bool {
    [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    ]
    .contains(&alg)
}

/// Invalid vectors whose defect is their key.
const KEY_DEFECTS: [&str; 8] = [
    "rejectWrongUse",
    "rejectsWrongUse",
    "rejectWrongKeyOps",
    "rejectsKeyWithRocaVulnerability",
    "rejects1024bitRsaKey",
    "rejectsPublicExponent1",
    "mismatchedAlgAndCurve",
    "rejectsModifiedKey",
];

/// The form error an invalid vector's comment announces, checked before any key is looked at.
fn form_defect(comment: &str, flags: &[String]) -> Option<&'static str> {
    let c = comment.trim_start_matches("rejects");
    if flags.iter().any(|f| f == "JsonSerialization")
        || c.ends_with("AndSeparator")
        || c.ends_with("AndSeparators")
        || ["EmptyString", "ExtraEmptyComponent", "ExtraComponent"].contains(&c)
    {
        return Some("not three dot-separated parts");
    }
    if flags.iter().any(|f| f == "AlgIsNone")
        || [
            "MissingSignature",
            "MissingHeader",
            "MissingHeaderAndSignature",
            "NoneAlgorithmAndMissingSignature",
        ]
        .contains(&c)
    {
        return Some("empty header or signature");
    }
    None
}

/// What idbroker should make of an invalid vector with a key it takes and an algorithm it
/// verifies: an unknown kid, a kid whose key has another alg, else a bad signature.
fn signature_defect(keys: &Value, header: &Value) -> &'static str {
    let alg = header["alg"].as_str().unwrap_or_default();
    let Some(kid) = header["kid"].as_str() else {
        return "signature";
    };
    let same: Vec<&Value> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kid"].as_str() == Some(kid))
        .collect();
    match same.as_slice() {
        [] => UNKNOWN_KEY,
        [k] if k["alg"].as_str().is_some_and(|a| a != alg) => KID_ALG,
        _ => "signature",
    }
}

fn check(
    t: &mut Tally,
    name: &str,
    keys: &Value,
    jws: &str,
    valid: bool,
    comment: &str,
    flags: &[String],
) {
    let (set, skipped) = KeySet::from_jwks(keys.to_string().as_bytes(), AlgSet::ALL)
        .unwrap_or_else(|e| panic!("{name}: the key set is not a JWKS document: {e}"));
    let got: Result<(), &'static str> = match set.verify_signature(jws, AlgSet::ALL) {
        Ok(_) => Ok(()),
        Err(SigFailure::UnknownKey) => Err(UNKNOWN_KEY),
        Err(SigFailure::Invalid(why)) => Err(why),
    };
    let header = header_of(jws).unwrap_or(Value::Null);
    let header_alg = header["alg"].as_str().unwrap_or_default();
    let mut fail = |why: String| t.failures.push(format!("{name} ({comment}): {why}"));
    if valid {
        // idbroker takes the algorithm from the JWK: a JWK whose alg differs from the header's
        // (RFC 7520 figure 20 under a PS256 key) is refused by policy.
        let jwk_alg_ok = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["alg"].as_str().is_none_or(|a| a == header_alg));
        let applicable = supported(header_alg) && jwk_alg_ok && !set.is_empty();
        match got {
            Ok(()) => t.valid_accepted += 1,
            Err(why) if applicable => fail(format!("valid vector refused: {why}")),
            // Outside what idbroker verifies: the policy reason, never a missing key.
            Err(why @ (ALG_NOT_ALLOWED | KID_ALG | "header encoding" | "payload encoding")) => {
                *t.valid_refused_by_policy.entry(why).or_default() += 1
            }
            Err(why) => fail(format!(
                "valid vector refused for an unexpected reason: {why}"
            )),
        }
        return;
    }
    let Err(why) = got else {
        fail("INVALID VECTOR ACCEPTED".into());
        return;
    };
    let header_is_base64url = jws
        .split('.')
        .next()
        .is_some_and(|h| data_encoding::BASE64URL_NOPAD.decode(h.as_bytes()).is_ok());
    let expected = if let Some(form) = form_defect(comment, flags) {
        form
    } else if !header_is_base64url {
        // Spaces or other characters in the header part ("spacesInHeader",
        // "invalidCharactersInHeader"): refused before the header is read.
        "header encoding"
    } else if KEY_DEFECTS.contains(&comment) {
        // The key is the defect: refused when loaded, so there is no key for the token.
        if !set.is_empty() || skipped == 0 {
            fail(format!(
                "a key vector whose key idbroker takes ({} usable, {skipped} skipped)",
                set.len()
            ));
            return;
        }
        if why == UNKNOWN_KEY {
            t.invalid_key_refused += 1;
            return;
        }
        UNKNOWN_KEY
    } else if !supported(header_alg) {
        if why == ALG_NOT_ALLOWED {
            t.invalid_in_unsupported_alg += 1;
            return;
        }
        ALG_NOT_ALLOWED
    } else if set.is_empty() {
        fail(format!(
            "a JWS vector whose key idbroker does not take ({skipped} skipped): it tests nothing \
             of the JWS check here (refused as {why:?}); classify it"
        ));
        return;
    } else {
        signature_defect(keys, &header)
    };
    if why == expected {
        *t.invalid_rejected.entry(why).or_default() += 1;
    } else {
        fail(format!("rejected as {why:?}, for {expected:?}"));
    }
}

fn keyset(group: &Value) -> Value {
    let k = group
        .get("public")
        .or_else(|| group.get("private"))
        .unwrap();
    if k.get("keys").is_some() {
        k.clone()
    } else {
        json!({"keys": [k]})
    }
}

#[test]
fn wycheproof_and_rfc_vectors() {
    let dir = oidc::testdata().join("jose");
    let mut t = Tally::default();
    for file in [
        "json_web_signature_test.json",
        "json_web_key_test.json",
        "json_web_crypto_test.json",
    ] {
        let path = dir.join("wycheproof/testvectors_v1").join(file);
        let doc: Value = serde_json::from_slice(
            &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        for g in doc["testGroups"].as_array().unwrap() {
            let keys = keyset(g);
            for case in g["tests"].as_array().unwrap() {
                let Some(jws) = case["jws"].as_str() else {
                    continue;
                }; // JWE cases: not JWS
                let name = format!("{file} #{}", case["tcId"]);
                let flags: Vec<String> = case["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect();
                check(
                    &mut t,
                    &name,
                    &keys,
                    jws,
                    case["result"] == "valid",
                    case["comment"].as_str().unwrap(),
                    &flags,
                );
            }
        }
    }
    let wycheproof = format!("{t:?}");

    let rfc7515: Value = serde_json::from_slice(
        &std::fs::read(dir.join("rfc7515/rfc7515_appendix_a.json")).unwrap(),
    )
    .unwrap();
    for ex in rfc7515.as_array().unwrap() {
        let valid = ex["alg"] != "none";
        check(
            &mut t,
            &format!("RFC 7515 {}", ex["rfc7515_section"]),
            &json!({"keys": [ex["jwk"]]}),
            ex["compact"].as_str().unwrap(),
            valid,
            if valid {
                ""
            } else {
                "rejectsNoneAlgorithmAndMissingSignature"
            },
            &[],
        );
    }
    for entry in std::fs::read_dir(dir.join("rfc7520/jws")).unwrap() {
        let path = entry.unwrap().path();
        let ex: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let Some(compact) = ex["output"]["compact"].as_str() else {
            continue;
        };
        let name = format!("RFC 7520 {}", path.file_name().unwrap().to_string_lossy());
        // 4.5 (detached content) has an empty payload part: the signature covers a payload
        // that is not there, so it does not verify.
        let valid = !name.contains("4_5");
        check(
            &mut t,
            &name,
            &json!({"keys": [ex["input"]["key"]]}),
            compact,
            valid,
            if valid { "" } else { "detachedContent" },
            &[],
        );
    }
    eprintln!("Wycheproof: {wycheproof}");
    eprintln!("Wycheproof + RFC 7515/7520: {t:?}");
    assert!(t.failures.is_empty(), "{:#?}", t.failures);
    let rejected: usize = t.invalid_rejected.values().sum();
    assert!(t.valid_accepted >= 20, "{t:?}");
    assert!(rejected >= 300, "{t:?}");
    assert!(t.invalid_rejected["signature"] >= 250, "{t:?}");
    assert!(t.invalid_key_refused >= 10, "{t:?}");
}
