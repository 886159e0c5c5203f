//! SigV4 from untrusted input (every signed STS call, every request a downstream service
//! verifies): whatever the bytes, `parse` and `verify` never panic, never accept a request
//! without its secret, and their messages stay on one line; and whatever `sign` accepts,
//! `parse` and `verify` accept.
//!
//! Input layout (text, lossily decoded): `METHOD TARGET` on the first line, then `Name: value`
//! header lines, then an empty line and the body. The first byte of the body chooses the
//! payload kind. Seeds: the aws-c-auth `*-signed-request.txt` files and the classic `.sreq`
//! files of tests/data/sigv4 are in exactly this layout.
//!
//! Cargo.toml of the fuzz crate needs `idbroker-sigv4 = { path = "../crates/sigv4" }` and a
//! `[[bin]] name = "sigv4_parse"` entry for this file.
#![no_main]

use idbroker_sigv4::{
    parse, sign, verify, verify_with_path_rule, Payload, RequestParts, SigV4Error, SigningForm,
    SigningParams,
};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn check_message(e: &SigV4Error) {
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line error message: {msg:?}");
    assert!(!msg.contains(SECRET));
    let _ = (e.sts_code(), e.http_status());
}

fuzz_target!(|data: &[u8]| {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.trim_matches([' ', '\t', '\r'])))
        .collect();
    let payload = match body.first() {
        Some(b'U') => Payload::Unsigned,
        Some(b'H') => {
            Payload::Sha256Hex("9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        }
        _ => Payload::Bytes(body),
    };
    let req = RequestParts {
        method,
        path,
        query,
        headers: &headers,
        payload,
    };

    // 1. Parse and verify: no panic; no success without the signer's secret.
    match parse(&req) {
        Ok(parsed) => {
            let _ = (
                parsed.access_key_id(),
                parsed.security_token(),
                parsed.region(),
                parsed.service(),
                parsed.form(),
                parsed.expires_in(),
                parsed.signed_headers(),
                format!("{parsed:?}"),
            );
            for now in [0, parsed.signed_at(), u64::MAX] {
                for skew in [0_u64, 900, u64::MAX] {
                    // The fuzzer cannot compute HMAC-SHA256 under a key it does not know.
                    if let Err(e) = verify(&req, &parsed, "not the fuzzer's secret", now, skew) {
                        check_message(&e);
                    } else {
                        panic!("verified without the secret");
                    }
                }
            }
            if let Err(e) =
                verify_with_path_rule(&req, &parsed, "", parsed.signed_at(), 900_u64, false)
            {
                check_message(&e);
            }
        }
        Err(e) => check_message(&e),
    }

    // 2. Sign what came in (when it carries no signature yet) and read it back: whatever the
    //    signer accepts must verify, in both forms.
    let token = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-fuzz-token"))
        .map(|(_, v)| *v);
    let time = u64::from(data.len() as u32) * 7_919_993;
    for form in [
        SigningForm::Header,
        SigningForm::Presigned { expires_in: 900 },
    ] {
        let params = SigningParams {
            security_token: token,
            form,
            ..SigningParams::new("AKIDEXAMPLE", SECRET, "us-east-1", "sts", time)
        };
        let signed = match sign(&req, &params) {
            Ok(s) => s,
            Err(e) => {
                check_message(&e);
                continue;
            }
        };
        let mut sent: Vec<(&str, &str)> = headers.clone();
        sent.extend(
            signed
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        let again = RequestParts {
            query: signed.query(),
            headers: &sent,
            ..req
        };
        let parsed = parse(&again).expect("what we signed parses");
        let verified =
            verify(&again, &parsed, SECRET, time, 900_u64).expect("what we signed verifies");
        assert_eq!(verified.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(verified.signed_at(), time);
        assert!(matches!(
            verify(&again, &parsed, "another secret", time, 900_u64),
            Err(SigV4Error::Mismatch)
        ));
    }
});
