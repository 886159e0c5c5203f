//! Issue 13 (outside security review), items 4 and 7: a request whose signature covers its body
//! does not verify unless the body (or its hash) is shown; the verifier's service is required and
//! its host, when configured, is checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use idbroker_session::{MemoryStore, SessionStore};
use idbroker_verify::{Payload, VerifiedCaller, Verifier, VerifierOptions, VerifyError};

fn options() -> VerifierOptions {
    VerifierOptions::new("orders")
}

fn memory() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new())
}

/// Verify `r` as a service that shows the verifier `payload` instead of the body.
async fn verify_with(
    v: &Verifier,
    r: &Req,
    payload: Payload<'_>,
    now: u64,
) -> Result<VerifiedCaller, VerifyError> {
    let h = r.header_refs();
    let parts = idbroker_verify::RequestParts {
        payload,
        ..r.parts(&h)
    };
    v.verify(&parts, at(now)).await
}

fn hex_sha256(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A GET presigned as botocore presigns: the payload line is `UNSIGNED-PAYLOAD`.
fn presigned_unsigned_payload(c: &Creds, path: &str) -> Req {
    let mut r = Req::new("GET", path, b"");
    let h = r.header_refs();
    let parts = idbroker_verify::RequestParts {
        payload: Payload::Unsigned,
        ..r.parts(&h)
    };
    let mut p = idbroker_sigv4::SigningParams::new(&c.id, &c.secret, "eu-west-1", "orders", T0);
    p.security_token = Some(&c.token);
    p.form = idbroker_sigv4::SigningForm::Presigned { expires_in: 300 };
    let signed = idbroker_sigv4::sign(&parts, &p).unwrap();
    drop(h);
    r.query = signed.query().to_owned();
    r
}

const BODY: &[u8] = br#"{"item":"book","qty":1}"#;

#[tokio::test]
async fn a_signed_body_must_be_shown() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(READER)).await;
    let v = Verifier::new(over(store), options());
    let hash = hex_sha256(BODY);

    // Signed with `X-Amz-Content-Sha256: <hash>` (S3-style).
    let mut declared = Req::new("POST", "/orders", BODY);
    declared
        .headers
        .push(("X-Amz-Content-Sha256".into(), hash.clone()));
    let declared = declared.signed(&c, Some(&c.token), "eu-west-1", "orders", T0, None);
    let caller = verify_with(&v, &declared, Payload::Bytes(BODY), T0)
        .await
        .unwrap();
    assert!(caller.payload_signed());
    // Replayed with another body: refused.
    assert_eq!(
        verify_with(&v, &declared, Payload::Bytes(b"{}"), T0)
            .await
            .unwrap_err(),
        VerifyError::SignatureDoesNotMatch
    );
    // Body not shown: refused (it verified, `payload_signed: false`, and the service went on to
    // read whatever body came with the replayed request).
    let err = verify_with(&v, &declared, Payload::Unsigned, T0)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("IncompleteSignature", 400)
    );
    assert!(err.to_string().contains("body"), "{err}");

    // Signed as the SDKs sign a POST: the body's hash in the canonical request, no header.
    let sdk = Req::new("POST", "/orders", BODY).signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        T0,
        None,
    );
    // With the body, or its hash: verified, and the body is covered.
    let caller = verify_with(&v, &sdk, Payload::Bytes(BODY), T0)
        .await
        .unwrap();
    assert!(caller.payload_signed());
    let caller = verify_with(&v, &sdk, Payload::Sha256Hex(&hash), T0)
        .await
        .unwrap();
    assert!(caller.payload_signed());
    // Without: the verifier cannot tell this body from any other. Not verified, and the error
    // says the body (or its hash) is needed, not that the signature is wrong.
    let err = verify_with(&v, &sdk, Payload::Unsigned, T0)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("IncompleteSignature", 400)
    );
    assert!(err.to_string().contains("body"), "{err}");

    // UNSIGNED-PAYLOAD signatures verify without the body, and say it is not covered: declared
    // in the header form, and presigned (botocore's way).
    let mut unsigned = Req::new("GET", "/orders/42", b"");
    unsigned
        .headers
        .push(("X-Amz-Content-Sha256".into(), "UNSIGNED-PAYLOAD".into()));
    let unsigned = unsigned.signed(&c, Some(&c.token), "eu-west-1", "orders", T0, None);
    let caller = verify_with(&v, &unsigned, Payload::Unsigned, T0)
        .await
        .unwrap();
    assert!(!caller.payload_signed());
    let pre = presigned_unsigned_payload(&c, "/orders/42");
    let caller = verify_with(&v, &pre, Payload::Unsigned, T0).await.unwrap();
    assert!(!caller.payload_signed());
    assert_eq!(caller.form(), idbroker_verify::SignatureForm::Presigned);
    // Presigned over the (empty) body's hash, as aws-c-auth presigns: that hash is needed.
    let pre_hashed = Req::new("GET", "/orders/42", b"").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        T0,
        Some(300),
    );
    let caller = verify_with(&v, &pre_hashed, Payload::Bytes(b""), T0)
        .await
        .unwrap();
    assert!(caller.payload_signed());
    assert_eq!(
        verify_with(&v, &pre_hashed, Payload::Unsigned, T0)
            .await
            .unwrap_err(),
        VerifyError::BodyHashRequired
    );
    // An UNSIGNED-PAYLOAD signature that does not match is a wrong signature, as before.
    let mut forged = unsigned.clone();
    forged.path = "/orders/43".into();
    assert_eq!(
        verify_with(&v, &forged, Payload::Unsigned, T0)
            .await
            .unwrap_err(),
        VerifyError::SignatureDoesNotMatch
    );
}

#[tokio::test]
async fn a_request_for_another_service_is_refused() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(READER)).await;
    // The options every test of this file uses: built with no more than what they require.
    let v = Verifier::new(over(store), options());
    let billing =
        Req::new("GET", "/", b"").signed(&c, Some(&c.token), "eu-west-1", "billing", T0, None);
    let err = verify_with(&v, &billing, Payload::Bytes(b""), T0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "IncompleteSignature");
    assert!(err.to_string().contains("'orders'"), "{err}");
    let orders =
        Req::new("GET", "/", b"").signed(&c, Some(&c.token), "eu-west-1", "orders", T0, None);
    assert!(verify_with(&v, &orders, Payload::Bytes(b""), T0)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_request_for_another_host_is_refused_when_the_host_is_configured() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(READER)).await;
    let on = |host: &str| {
        let mut r = Req::new("GET", "/orders/42", b"");
        r.headers[0].1 = host.into();
        r.signed(&c, Some(&c.token), "eu-west-1", "orders", T0, None)
    };
    let ours = on("orders.example.com");
    let theirs = on("orders.staging.example.com");
    let with_port = on("orders.example.com:8443");

    // Not configured: the host is whatever was signed.
    let any = Verifier::new(over(store.clone()), options());
    for r in [&ours, &theirs, &with_port] {
        assert!(verify_with(&any, r, Payload::Bytes(b""), T0).await.is_ok());
    }

    let v = Verifier::new(
        over(store.clone()),
        options().with_host("Orders.Example.com"),
    );
    let caller = verify_with(&v, &ours, Payload::Bytes(b""), T0)
        .await
        .unwrap();
    assert_eq!(caller.service(), "orders");
    for r in [&theirs, &with_port] {
        let err = verify_with(&v, r, Payload::Bytes(b""), T0)
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("IncompleteSignature", 400)
        );
        assert!(err.to_string().contains("Orders.Example.com"), "{err}");
    }
    // Presigned: the same host rule.
    let mut pre = presigned_unsigned_payload(&c, "/orders/42");
    assert!(verify_with(&v, &pre, Payload::Unsigned, T0).await.is_ok());
    pre.headers[0].1 = "orders.staging.example.com".into();
    assert_eq!(
        verify_with(&v, &pre, Payload::Unsigned, T0)
            .await
            .unwrap_err()
            .code(),
        "IncompleteSignature"
    );
    // Two Host headers: not one host, refused.
    let mut twice = ours.clone();
    twice
        .headers
        .push(("host".into(), "orders.example.com".into()));
    assert!(verify_with(&v, &twice, Payload::Bytes(b""), T0)
        .await
        .is_err());
}

#[tokio::test]
async fn the_service_is_named_by_the_options_or_by_each_call() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(READER)).await;
    let orders =
        Req::new("GET", "/", b"").signed(&c, Some(&c.token), "eu-west-1", "orders", T0, None);
    let billing =
        Req::new("GET", "/", b"").signed(&c, Some(&c.token), "eu-west-1", "billing", T0, None);
    let h = orders.header_refs();
    let parts = orders.parts(&h);
    let hb = billing.header_refs();
    let billing_parts = billing.parts(&hb);

    // A verifier for `orders`: verify_for_service may not widen it.
    let v = Verifier::new(over(store.clone()), options());
    assert!(v.verify_for_service(&parts, "orders", at(T0)).await.is_ok());
    assert_eq!(
        v.verify_for_service(&billing_parts, "billing", at(T0))
            .await
            .unwrap_err()
            .code(),
        "IncompleteSignature"
    );

    // One shared by several services: each call names its service; `verify` alone refuses.
    let shared = Verifier::new(over(store), VerifierOptions::service_per_call());
    assert_eq!(
        shared.options().service,
        idbroker_verify::ExpectedService::PerCall
    );
    let err = shared.verify(&parts, at(T0)).await.unwrap_err();
    assert_eq!(err.code(), "IncompleteSignature");
    assert!(shared
        .verify_for_service(&parts, "orders", at(T0))
        .await
        .is_ok());
    assert!(shared
        .verify_for_service(&billing_parts, "billing", at(T0))
        .await
        .is_ok());
    let err = shared
        .verify_for_service(&billing_parts, "orders", at(T0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("'orders'"), "{err}");
}
