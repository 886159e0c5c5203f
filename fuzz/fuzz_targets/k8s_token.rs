//! `k8s-aws-v1.` bearer tokens from untrusted input (any client of a token webhook): whatever
//! the bytes, `parse_k8s_token` never panics and its messages stay on one line; a token it
//! accepts goes through the SigV4 parser and verifier without panicking and never verifies with a
//! key the fuzzer does not know.
//!
//! Each input is tried three ways: as the token itself, as the bytes behind the prefix
//! (base64url-encoded here, so the URL checks are reached), and as the query of an
//! `https://sts.idbroker.test/?` URL (so the parameter checks and the signature are reached).
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idbroker_sigv4::{parse_request, Payload, RequestParts, SigningKey};
use idbroker_verify::k8s::{parse_k8s_token, CLUSTER_ID_HEADER, K8S_TOKEN_LIFETIME};
use libfuzzer_sys::fuzz_target;

const HOST: &str = "sts.idbroker.test";

fuzz_target!(|data: &[u8]| {
    let hosts = vec![HOST.to_owned()];
    let text = String::from_utf8_lossy(data);
    let tokens = [
        text.to_string(),
        format!("k8s-aws-v1.{}", URL_SAFE_NO_PAD.encode(data)),
        format!(
            "k8s-aws-v1.{}",
            URL_SAFE_NO_PAD.encode(format!("https://{HOST}/?{text}"))
        ),
    ];
    for token in &tokens {
        let t = match parse_k8s_token(token, &hosts) {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.contains('\n'), "multi-line message: {msg:?}");
                let _ = (e.code(), e.http_status());
                continue;
            }
        };
        assert!(token.len() <= 4096);
        assert!(t.host().eq_ignore_ascii_case(HOST));
        let headers = [("host", t.host()), (CLUSTER_ID_HEADER, "cluster")];
        let req = RequestParts {
            method: "GET",
            path: "/",
            query: t.query(),
            headers: &headers,
            payload: Payload::Bytes(b""),
        };
        if let Ok(request) = parse_request(&req) {
            let key = SigningKey::for_signature("not the fuzzer's secret", request.signature())
                .expect("HMAC takes any key");
            let signed_at = request.signature().signed_at();
            assert!(
                request
                    .verify_for_lifetime(&key, signed_at, 900_u64, K8S_TOKEN_LIFETIME)
                    .is_err(),
                "verified without the secret"
            );
        }
    }
});
