//! End to end through the library: sessions minted as the server mints them, requests signed
//! with idbroker-sigv4, verified and authorized.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use idbroker_session::{AccessKeyId, MemoryStore, RevocationScope, SessionStore};
use idbroker_verify::{
    Decision, RequestFacts, VerifiedCaller, Verifier, VerifierOptions, VerifyError,
};

const GET_ORDER: &str = "arn:aws:orders:eu-west-1:123456789012:order/42";

fn options() -> VerifierOptions {
    VerifierOptions::new("orders")
}

fn memory() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new())
}

async fn verify(v: &Verifier, r: &Req, now: u64) -> Result<VerifiedCaller, VerifyError> {
    let h = r.header_refs();
    v.verify(&r.parts(&h), at(now)).await
}

fn get(c: &Creds, t: u64) -> Req {
    Req::new("GET", "/orders/42", b"").signed(c, Some(&c.token), "eu-west-1", "orders", t, None)
}

#[tokio::test]
async fn allowed_header_and_presigned_with_the_callers_identity() {
    let store = memory();
    let creds = mint(&*store, &keys(), &plan(READER)).await;
    let v = Verifier::new(over(store), options());
    let caller = verify(&v, &get(&creds, T0 + 10), T0 + 11).await.unwrap();
    assert_eq!(
        caller.arn(),
        "arn:aws:sts::123456789012:assumed-role/orders-reader/alice"
    );
    assert_eq!(caller.account(), ACCOUNT);
    assert_eq!(caller.session_name(), Some("alice"));
    assert_eq!(caller.source_identity(), Some("alice@example.com"));
    assert_eq!(caller.tags().len(), 1);
    assert_eq!(caller.issued_at(), Some(T0));
    assert_eq!(caller.expires_at(), T0 + 3600);
    assert_eq!((caller.region(), caller.service()), ("eu-west-1", "orders"));
    assert_eq!(caller.identity().role_arn.as_deref(), Some(READER));
    let facts = RequestFacts::at(at(T0 + 11));
    assert_eq!(
        v.authorize(&caller, "orders:GetOrder", GET_ORDER, &facts),
        Decision::Allow
    );
    // Another account's order: the identity policy does not cover it.
    assert_eq!(
        v.authorize(
            &caller,
            "orders:GetOrder",
            "arn:aws:orders:eu-west-1:999999999999:order/42",
            &facts
        ),
        Decision::ImplicitDeny
    );

    // Presigned, body unsigned, within X-Amz-Expires.
    let pre = Req::new("GET", "/orders/42", b"").signed(
        &creds,
        Some(&creds.token),
        "eu-west-1",
        "orders",
        T0 + 20,
        Some(300),
    );
    assert!(pre.query.contains("X-Amz-Signature="));
    let caller = verify(&v, &pre, T0 + 200).await.unwrap();
    assert_eq!(caller.form(), idbroker_verify::SignatureForm::Presigned);
    // ... and not after.
    let err = verify(&v, &pre, T0 + 400).await.unwrap_err();
    assert_eq!(err.code(), "RequestExpired");
}

#[tokio::test]
async fn explicit_deny_session_policy_and_boundary() {
    let store = memory();
    let keys = keys();
    let v = Verifier::new(over(store.clone()), options());
    let facts = RequestFacts::at(at(T0 + 1));

    let reader = mint(&*store, &keys, &plan(READER)).await;
    let caller = verify(&v, &get(&reader, T0), T0 + 1).await.unwrap();
    let e = v.evaluate(&caller, "orders:DeleteOrder", GET_ORDER, &facts);
    assert_eq!(e.decision, Decision::ExplicitDeny);
    let err = v
        .require(&caller, "orders:DeleteOrder", GET_ORDER, &facts)
        .unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("AccessDenied", 403));

    // A session policy that allows listing only: the role's Allow of GetOrder is cut.
    let mut p = plan(READER);
    p.session_policy = Some(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"orders:ListOrders","Resource":"*"}]}"#
            .into(),
    );
    let limited = mint(&*store, &keys, &p).await;
    let caller = verify(&v, &get(&limited, T0), T0 + 1).await.unwrap();
    let e = v.evaluate(&caller, "orders:GetOrder", GET_ORDER, &facts);
    assert_eq!(e.decision, Decision::ImplicitDeny);
    assert_eq!(e.missing, Some(idbroker_policy::Layer::Session));
    assert!(v
        .authorize(
            &caller,
            "orders:ListOrders",
            "arn:aws:orders:eu-west-1:123456789012:order/*",
            &facts
        )
        .is_allowed());

    // The boundary allows List* only, whatever the role's policy says.
    let bounded = mint(&*store, &keys, &plan(BOUNDED)).await;
    let caller = verify(&v, &get(&bounded, T0), T0 + 1).await.unwrap();
    let e = v.evaluate(&caller, "orders:GetOrder", GET_ORDER, &facts);
    assert_eq!(e.decision, Decision::ImplicitDeny);
    assert_eq!(e.missing, Some(idbroker_policy::Layer::PermissionsBoundary));
    assert!(v
        .authorize(&caller, "orders:ListOrders", "*", &facts)
        .is_allowed());
}

#[tokio::test]
async fn unknown_policies_deny_everything() {
    let store = memory();
    let mut p = plan("arn:aws:iam::123456789012:role/not-in-directory");
    p.session_policy = None;
    let c = mint(&*store, &keys(), &p).await;
    let v = Verifier::new(over(store), options());
    let caller = verify(&v, &get(&c, T0), T0).await.unwrap();
    assert_eq!(
        v.authorize(&caller, "orders:GetOrder", "*", &RequestFacts::at(at(T0))),
        Decision::ImplicitDeny
    );
}

#[tokio::test]
async fn global_condition_keys() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(CONDITIONAL)).await;
    let v = Verifier::new(over(store.clone()), options());
    let caller = verify(&v, &get(&c, T0 + 5), T0 + 5).await.unwrap();
    let extra = [
        ("orders:Shop", "north-1"),
        ("aws:SourceIdentity", "mallory"),
    ];
    let good = RequestFacts {
        now: at(T0 + 5),
        source_ip: Some("10.1.2.3".parse().unwrap()),
        secure_transport: true,
        extra: &extra,
    };
    assert_eq!(
        v.authorize(&caller, "orders:GetOrder", GET_ORDER, &good),
        Decision::Allow
    );
    let deny = |f: &RequestFacts<'_>| v.authorize(&caller, "orders:GetOrder", GET_ORDER, f);
    let wrong_ip = RequestFacts {
        source_ip: Some("192.168.1.1".parse().unwrap()),
        ..good
    };
    assert_eq!(deny(&wrong_ip), Decision::ImplicitDeny);
    assert_eq!(
        deny(&RequestFacts {
            secure_transport: false,
            ..good
        }),
        Decision::ImplicitDeny
    );
    assert_eq!(
        deny(&RequestFacts {
            source_ip: None,
            ..good
        }),
        Decision::ImplicitDeny
    );
    assert_eq!(
        deny(&RequestFacts {
            now: at(1_830_000_000), // 2027-12-28, still before 2028: allowed
            ..good
        }),
        Decision::Allow
    );
    assert_eq!(
        deny(&RequestFacts {
            now: at(1_900_000_000), // 2030: aws:CurrentTime condition fails
            ..good
        }),
        Decision::ImplicitDeny
    );
    assert_eq!(
        deny(&RequestFacts { extra: &[], ..good }),
        Decision::ImplicitDeny
    );
    // The region is the signature's: a request signed for us-east-1 is not in eu-west-1.
    let us = Req::new("GET", "/orders/42", b"").signed(
        &c,
        Some(&c.token),
        "us-east-1",
        "orders",
        T0 + 5,
        None,
    );
    let caller = verify(&v, &us, T0 + 5).await.unwrap();
    assert_eq!(
        v.authorize(&caller, "orders:GetOrder", GET_ORDER, &good),
        Decision::ImplicitDeny
    );
    // Tags and source identity are the session's.
    let mut p = plan(CONDITIONAL);
    p.tags = vec![("team".into(), "red".into())];
    let red = mint(&*store, &keys(), &p).await;
    let caller = verify(&v, &get(&red, T0 + 5), T0 + 5).await.unwrap();
    assert_eq!(
        v.authorize(&caller, "orders:GetOrder", GET_ORDER, &good),
        Decision::ImplicitDeny
    );
}

#[tokio::test]
async fn expired_tampered_wrong_token_unknown_key_unsigned() {
    let store = memory();
    let keys = keys();
    let c = mint(&*store, &keys, &plan(READER)).await;
    let other = mint(&*store, &keys, &plan(READER)).await;
    let v = Verifier::new(over(store.clone()), options());

    // Expired: a fresh signature, a session past its expiry.
    let late = T0 + 3600;
    let err = verify(&v, &get(&c, late), late).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("ExpiredToken", 403));

    // Tampered path, body, header.
    let mut r = Req::new("POST", "/orders", b"{\"n\":1}").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        T0,
        None,
    );
    assert!(verify(&v, &r, T0).await.is_ok());
    r.body = b"{\"n\":2}".to_vec();
    assert_eq!(
        verify(&v, &r, T0).await.unwrap_err(),
        VerifyError::SignatureDoesNotMatch
    );
    let mut r = get(&c, T0);
    r.path = "/orders/43".into();
    assert_eq!(
        verify(&v, &r, T0).await.unwrap_err(),
        VerifyError::SignatureDoesNotMatch
    );
    // Signed with another session's secret under this key id.
    let forged = Creds {
        secret: other.secret.clone(),
        ..c.clone()
    };
    assert_eq!(
        verify(&v, &get(&forged, T0), T0).await.unwrap_err(),
        VerifyError::SignatureDoesNotMatch
    );

    // Wrong or missing session token.
    let r =
        Req::new("GET", "/", b"").signed(&c, Some(&other.token), "eu-west-1", "orders", T0, None);
    assert_eq!(
        verify(&v, &r, T0).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    let r = Req::new("GET", "/", b"").signed(&c, None, "eu-west-1", "orders", T0, None);
    assert_eq!(
        verify(&v, &r, T0).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );

    // Unknown key, long-term key shape.
    let ghost = Creds {
        id: AccessKeyId::generate_temporary().unwrap().as_str().into(),
        ..c.clone()
    };
    assert_eq!(
        verify(&v, &get(&ghost, T0), T0).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    let akia = Creds {
        id: "AKIAIOSFODNN7EXAMPLE".into(),
        ..c.clone()
    };
    assert_eq!(
        verify(&v, &get(&akia, T0), T0).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );

    // Replayed outside the 15-minute window.
    let err = verify(&v, &get(&c, T0), T0 + 901).await.unwrap_err();
    assert_eq!(err.code(), "RequestExpired");

    // Unsigned.
    let r = Req::new("GET", "/orders", b"");
    let err = verify(&v, &r, T0).await.unwrap_err();
    assert_eq!(
        (err.code(), err.http_status()),
        ("MissingAuthenticationToken", 403)
    );

    // Sealed with keys this verifier does not have: nothing verifies.
    let stranger = Verifier::new(
        Arc::new(idbroker_verify::StoreSource::new(
            store,
            Arc::new(idbroker_session::SealingKeys::new("k1", &[9u8; 32]).unwrap()),
            directory(),
        )),
        VerifierOptions::new("orders"),
    );
    assert_eq!(
        verify(&stranger, &get(&c, T0), T0).await.unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
}

#[tokio::test]
async fn another_service_or_region_is_refused() {
    let store = memory();
    let c = mint(&*store, &keys(), &plan(READER)).await;
    let v = Verifier::new(over(store), options().with_regions(["eu-west-1"]));
    let s3 = Req::new("GET", "/", b"").signed(&c, Some(&c.token), "eu-west-1", "s3", T0, None);
    let err = verify(&v, &s3, T0).await.unwrap_err();
    assert_eq!(err.code(), "IncompleteSignature");
    assert!(err.to_string().contains("'orders'"), "{err}");
    let us = Req::new("GET", "/", b"").signed(&c, Some(&c.token), "us-east-1", "orders", T0, None);
    assert_eq!(
        verify(&v, &us, T0).await.unwrap_err().code(),
        "IncompleteSignature"
    );
    assert!(verify(&v, &get(&c, T0), T0).await.is_ok());
}

#[tokio::test]
async fn revocation_is_seen_by_a_second_verifier_within_the_cache_ttl() {
    let store = memory();
    let keys = keys();
    let c = mint(&*store, &keys, &plan(READER)).await;
    let single = mint(&*store, &keys, &plan(BOUNDED)).await;
    let a = Verifier::new(over(store.clone()), options());
    let b = Verifier::new(over(store.clone()), options());
    let t = T0 + 100;
    let now = at(t);
    for v in [&a, &b] {
        assert!(verify(v, &get(&c, t), t).await.is_ok());
        assert!(verify(v, &get(&single, t), t).await.is_ok());
    }
    // Revoke every session of the role issued up to now, and one session by id.
    store
        .set_revoked_before(&RevocationScope::Role(READER.into()), t, 129_600)
        .await
        .unwrap();
    store
        .revoke(&AccessKeyId::parse(&single.id).unwrap())
        .await
        .unwrap();
    // Verifier b's cache is still fresh for under a second (clock moved, no sleep) ...
    let h = |r: &Req, d: Duration| {
        let r = r.clone();
        let b = &b;
        async move {
            let hs = r.header_refs();
            b.verify(&r.parts(&hs), now + d).await
        }
    };
    assert!(h(&get(&c, t), Duration::from_millis(999)).await.is_ok());
    // ... and at 1 s it reads the store again: revoked.
    assert_eq!(
        h(&get(&c, t), Duration::from_millis(1000))
            .await
            .unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    assert_eq!(
        h(&get(&single, t), Duration::from_millis(1000))
            .await
            .unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
    // A fresh verifier sees it at once; a session issued after the mark is fine.
    let c2 = Verifier::new(over(store.clone()), options());
    assert!(verify(&c2, &get(&c, t), t).await.is_err());
    let mut p = plan(READER);
    p.issued_at = t + 1;
    let newer = mint(&*store, &keys, &p).await;
    assert!(verify(&c2, &get(&newer, t + 2), t + 2).await.is_ok());
}

#[tokio::test]
async fn store_down_fails_closed_and_recovers() {
    let flaky = Flaky::new(memory());
    let c = mint(&*flaky.inner, &keys(), &plan(READER)).await;
    let v = Verifier::new(over(flaky.clone()), options());
    flaky.set_down(true);
    let err = verify(&v, &get(&c, T0), T0).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("ServiceUnavailable", 503));
    assert!(err.to_xml().contains("<Code>ServiceUnavailable</Code>"));
    flaky.set_down(false);
    assert!(verify(&v, &get(&c, T0), T0).await.is_ok());
    // Down again: the cached record serves until its TTL ends, then nothing verifies.
    flaky.set_down(true);
    let h = get(&c, T0);
    let hs = h.header_refs();
    assert!(v
        .verify(&h.parts(&hs), at(T0) + Duration::from_millis(500))
        .await
        .is_ok());
    assert_eq!(
        v.verify(&h.parts(&hs), at(T0 + 1)).await.unwrap_err(),
        VerifyError::ServiceUnavailable
    );
}

#[tokio::test]
async fn cache_is_bounded() {
    let store = memory();
    let keys = keys();
    let mut opts = options();
    opts.cache_capacity = 2;
    let v = Verifier::new(over(store.clone()), opts);
    for _ in 0..5 {
        let c = mint(&*store, &keys, &plan(READER)).await;
        assert!(verify(&v, &get(&c, T0), T0).await.is_ok());
    }
}

#[tokio::test]
async fn real_redis() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = idbroker_session::SessionStoreConfig::Redis {
        url,
        options: idbroker_session::RedisOptions {
            prefix: format!("idbroker-verify-test-{}:", std::process::id()),
            ..Default::default()
        },
    };
    let store = match idbroker_session::connect(&config).await {
        Ok(s) => s,
        Err(e) => return skip_or_fail(format!("no Redis ({e}); set REDIS_URL or start one")),
    };
    let keys = keys();
    // Issued "now" so the store's TTL (Redis's clock) keeps it while the test runs.
    #[allow(clippy::disallowed_methods)]
    let now = idbroker_session::unix_seconds(std::time::SystemTime::now());
    let mut p = plan(READER);
    p.issued_at = now;
    let c = mint(&*store, &keys, &p).await;
    let a = connect(&config, options()).await;
    let b = Verifier::new(over(store.clone()), options());
    let caller = verify(&a, &get(&c, now), now).await.unwrap();
    assert!(a
        .authorize(
            &caller,
            "orders:GetOrder",
            GET_ORDER,
            &RequestFacts::at(at(now))
        )
        .is_allowed());
    assert!(verify(&b, &get(&c, now), now).await.is_ok());
    store
        .set_revoked_before(
            &RevocationScope::SourceIdentity("alice@example.com".into()),
            now,
            60,
        )
        .await
        .unwrap();
    let r = get(&c, now);
    let hs = r.header_refs();
    assert_eq!(
        b.verify(&r.parts(&hs), at(now) + Duration::from_millis(1000))
            .await
            .unwrap_err(),
        VerifyError::InvalidClientTokenId
    );
}
