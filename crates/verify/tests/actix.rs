//! The actix-web middleware: signed requests reach the handler with a `VerifiedCaller`;
//! unsigned, forged or denied ones get AWS-style XML errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The middleware verifies at the wall clock's time (as a downstream service does), so the
// sessions and the handlers' decisions here use it too.
#![allow(clippy::disallowed_methods)]

mod common;

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::{test, web, App, HttpRequest, HttpResponse};
use common::*;
use idbroker_session::{MemoryStore, SessionStore};
use idbroker_verify::actix::{facts, require_sigv4};
use idbroker_verify::{VerifiedCaller, Verifier, VerifierOptions, VerifyError};

async fn order(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
) -> Result<HttpResponse, VerifyError> {
    let action = if req.method() == "DELETE" {
        "orders:DeleteOrder"
    } else {
        "orders:GetOrder"
    };
    let res = format!("arn:aws:orders:{}:{ACCOUNT}:order/42", caller.region());
    v.require(&caller, action, &res, &facts(&req, SystemTime::now()))?;
    Ok(HttpResponse::Ok().body(caller.arn().to_owned()))
}

#[actix_web::test]
async fn middleware_admits_signed_and_refuses_the_rest() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let now = idbroker_session::unix_seconds(SystemTime::now());
    let mut p = plan(READER);
    p.issued_at = now;
    let c = mint(&*store, &keys(), &p).await;
    let verifier = web::Data::new(Verifier::new(over(store), VerifierOptions::new("orders")));
    let app = test::init_service(
        App::new()
            .app_data(verifier)
            .wrap(actix_web::middleware::from_fn(require_sigv4))
            .route("/orders/42", web::get().to(order))
            .route("/orders/42", web::post().to(order))
            .route("/orders/42", web::delete().to(order)),
    )
    .await;
    let send = |r: Req| {
        let mut t = test::TestRequest::default()
            .method(r.method.parse().unwrap())
            .uri(&if r.query.is_empty() {
                r.path.clone()
            } else {
                format!("{}?{}", r.path, r.query)
            })
            .set_payload(r.body.clone());
        for (n, v) in &r.headers {
            t = t.insert_header((n.as_str(), v.as_str()));
        }
        t.to_request()
    };

    // Signed: the handler sees the caller.
    let r = Req::new("GET", "/orders/42", b"").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        now,
        None,
    );
    let resp = test::call_service(&app, send(r)).await;
    assert_eq!(resp.status(), 200);
    let body = test::read_body(resp).await;
    assert_eq!(
        &body[..],
        b"arn:aws:sts::123456789012:assumed-role/orders-reader/alice"
    );

    // A signed body reaches the handler too (the middleware puts it back).
    let r = Req::new("POST", "/orders/42", b"{\"qty\":3}").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        now,
        None,
    );
    assert_eq!(test::call_service(&app, send(r)).await.status(), 200);

    // Unsigned.
    let resp = test::call_service(&app, send(Req::new("GET", "/orders/42", b""))).await;
    assert_eq!(resp.status(), 403);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{body}"
    );

    // Tampered body.
    let mut r = Req::new("POST", "/orders/42", b"{\"qty\":3}").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        now,
        None,
    );
    r.body = b"{\"qty\":300}".to_vec();
    let resp = test::call_service(&app, send(r)).await;
    assert_eq!(resp.status(), 403);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    // Denied by policy.
    let r = Req::new("DELETE", "/orders/42", b"").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        now,
        None,
    );
    let resp = test::call_service(&app, send(r)).await;
    assert_eq!(resp.status(), 403);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(body.contains("orders:DeleteOrder"), "{body}");
}

/// A handler that counts its calls and says it was reached.
fn reached_counter() -> (
    Arc<std::sync::atomic::AtomicUsize>,
    impl Fn() -> std::future::Ready<HttpResponse> + Clone,
) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move || {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::ready(HttpResponse::Ok().body("reached"))
    };
    (calls, handler)
}

fn to_request(r: &Req) -> test::TestRequest {
    let mut t = test::TestRequest::default()
        .method(r.method.parse().unwrap())
        .uri(&if r.query.is_empty() {
            r.path.clone()
        } else {
            format!("{}?{}", r.path, r.query)
        })
        .set_payload(r.body.clone());
    for (n, v) in &r.headers {
        t = t.append_header((n.as_str(), v.as_str()));
    }
    t
}

/// An app that forgot `.app_data(Data<Verifier>)`: every request is refused with
/// ServiceUnavailable (a well-signed one too) and the handler is never reached, whether or
/// not it extracts a `VerifiedCaller`. Mutation tried: the middleware calling the next service
/// when the verifier is missing.
#[actix_web::test]
async fn without_its_verifier_the_middleware_refuses_everything() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let now = idbroker_session::unix_seconds(SystemTime::now());
    let mut p = plan(READER);
    p.issued_at = now;
    let c = mint(&*store, &keys(), &p).await;
    let (calls, handler) = reached_counter();
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(require_sigv4))
            .route("/orders/42", web::get().to(handler)),
    )
    .await;
    let signed = Req::new("GET", "/orders/42", b"").signed(
        &c,
        Some(&c.token),
        "eu-west-1",
        "orders",
        now,
        None,
    );
    for r in [signed, Req::new("GET", "/orders/42", b"")] {
        let resp = test::call_service(&app, to_request(&r).to_request()).await;
        assert_eq!(resp.status(), 503);
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        assert!(body.contains("<Code>ServiceUnavailable</Code>"), "{body}");
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// Header values that are not UTF-8 (nor visible ASCII, all actix reads as text) are never
/// taken for something that was signed: a signed header whose bytes are not UTF-8 (sent where
/// the signer signed U+FFFD, what a lossy conversion would read) is refused; a second,
/// non-UTF-8 value added to a signed header is refused too (the signature covers every value
/// of a signed header). A non-UTF-8 header the signature does not cover changes nothing.
/// Failed before the fix in `require_sigv4` (the added value was dropped, unseen by the
/// verifier, and the handler reached); mutation tried since: values read with
/// `String::from_utf8_lossy`.
#[actix_web::test]
async fn non_utf8_header_values_never_verify() {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let now = idbroker_session::unix_seconds(SystemTime::now());
    let mut p = plan(READER);
    p.issued_at = now;
    let c = mint(&*store, &keys(), &p).await;
    let verifier = web::Data::new(Verifier::new(over(store), VerifierOptions::new("orders")));
    let (calls, handler) = reached_counter();
    let app = test::init_service(
        App::new()
            .app_data(verifier)
            .wrap(actix_web::middleware::from_fn(require_sigv4))
            .route("/orders/42", web::get().to(handler)),
    )
    .await;
    let note = HeaderName::from_static("x-order-note");
    let sign = |value: &str| {
        let mut r = Req::new("GET", "/orders/42", b"");
        r.headers.push(("X-Order-Note".into(), value.into()));
        r.signed(&c, Some(&c.token), "eu-west-1", "orders", now, None)
    };
    let send = |t: test::TestRequest| async { test::call_service(&app, t.to_request()).await };
    let code = |resp: actix_web::dev::ServiceResponse| async {
        let status = resp.status().as_u16();
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        (status, body)
    };

    // Control: signed and sent as signed.
    let (status, body) = code(send(to_request(&sign("cafe"))).await).await;
    assert_eq!((status, body.as_str()), (200, "reached"));
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);

    // Signed over "caf\u{FFFD}", sent as the Latin-1 bytes "caf\xe9".
    let mut r = sign("caf\u{FFFD}");
    r.headers.retain(|(n, _)| n != "X-Order-Note");
    let t =
        to_request(&r).insert_header((note.clone(), HeaderValue::from_bytes(b"caf\xe9").unwrap()));
    let (status, body) = code(send(t).await).await;
    assert_ne!(status, 200, "{body}");
    assert!(
        body.contains("<Code>IncompleteSignature</Code>")
            || body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );

    // Signed with one value; a second, non-UTF-8 value of the same header added.
    let t = to_request(&sign("ok"))
        .append_header((note.clone(), HeaderValue::from_bytes(b"\xff\xfe").unwrap()));
    let (status, body) = code(send(t).await).await;
    assert_ne!(
        status, 200,
        "a non-UTF-8 value slipped into a signed header: {body}"
    );

    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "the handler was reached"
    );

    // A non-UTF-8 header that is not signed is not the signature's business.
    let t = to_request(&sign("ok")).insert_header((
        HeaderName::from_static("x-unsigned"),
        HeaderValue::from_bytes(b"\xff").unwrap(),
    ));
    let (status, body) = code(send(t).await).await;
    assert_eq!((status, body.as_str()), (200, "reached"));
}
