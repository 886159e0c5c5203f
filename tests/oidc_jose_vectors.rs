//! The JOSE corpora in ../shared/testdata/jose against idbroker's JWS verification
//! (`KeySet::verify_signature`, the step before claims): every Wycheproof JWS vector, the JWK-set
//! vectors, the JWS part of the crypto vectors, and the RFC 7515 / RFC 7520 examples.
//! Invalid vectors must all be rejected. Valid ones must verify when idbroker supports their
//! algorithm and key (RS/PS 256-512 with RSA ≥ 2048 bits, ES256, ES384); valid vectors outside
//! that set (HMAC, ES512, JSON serialization, a header alg other than the JWK's) are rejected by
//! policy and counted as such.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc;

use idbroker::federation::oidc::{AlgSet, KeySet};
use serde_json::{json, Value};

#[derive(Default, Debug)]
struct Tally {
    valid_accepted: usize,
    valid_refused_by_policy: usize,
    invalid_rejected: usize,
    failures: Vec<String>,
}

fn alg_of(jws: &str) -> Option<String> {
    let h = data_encoding::BASE64URL_NOPAD
        .decode(jws.split('.').next()?.as_bytes())
        .ok()?;
    let v: Value = serde_json::from_slice(&h).ok()?;
    v["alg"].as_str().map(str::to_owned)
}

fn supported(alg: &str) -> bool {
    [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    ]
    .contains(&alg)
}

fn check(t: &mut Tally, name: &str, keys: &Value, jws: &str, valid: bool) {
    let set = KeySet::from_jwks(keys.to_string().as_bytes(), AlgSet::ALL)
        .map(|(s, _)| s)
        .unwrap_or_default();
    let accepted = set.verify_signature(jws, AlgSet::ALL).is_ok();
    // idbroker takes the algorithm from the JWK: a JWK whose alg differs from the header's (RFC
    // 7520 figure 20 under a PS256 key) is refused by policy.
    let header_alg = alg_of(jws).unwrap_or_default();
    let jwk_alg_ok = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["alg"].as_str().is_none_or(|a| a == header_alg));
    let applicable = supported(&header_alg) && jwk_alg_ok && !set.is_empty();
    match (valid, accepted) {
        (true, true) => t.valid_accepted += 1,
        (true, false) if !applicable => t.valid_refused_by_policy += 1,
        (true, false) => t.failures.push(format!("{name}: valid vector refused")),
        (false, false) => t.invalid_rejected += 1,
        (false, true) => t.failures.push(format!("{name}: INVALID VECTOR ACCEPTED")),
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
            &std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (set IDBROKER_TESTDATA)", path.display())),
        )
        .unwrap();
        for g in doc["testGroups"].as_array().unwrap() {
            let keys = keyset(g);
            for case in g["tests"].as_array().unwrap() {
                let Some(jws) = case["jws"].as_str() else {
                    continue;
                }; // JWE cases: not JWS
                let name = format!("{file} #{} {}", case["tcId"], case["comment"]);
                check(&mut t, &name, &keys, jws, case["result"] == "valid");
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
        );
    }
    for entry in std::fs::read_dir(dir.join("rfc7520/jws")).unwrap() {
        let path = entry.unwrap().path();
        let ex: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let Some(compact) = ex["output"]["compact"].as_str() else {
            continue;
        };
        let name = format!("RFC 7520 {}", path.file_name().unwrap().to_string_lossy());
        // 4.5 (detached content) has an empty payload part: not a token idbroker can use.
        let valid = !name.contains("4_5");
        check(
            &mut t,
            &name,
            &json!({"keys": [ex["input"]["key"]]}),
            compact,
            valid,
        );
    }
    eprintln!("Wycheproof: {wycheproof}");
    eprintln!("Wycheproof + RFC 7515/7520: {t:?}");
    assert!(t.failures.is_empty(), "{:#?}", t.failures);
    assert!(t.valid_accepted >= 20, "{t:?}");
    assert!(t.invalid_rejected >= 300, "{t:?}");
}
