//! The actix-web middleware: signed requests reach the handler with a `VerifiedCaller`;
//! unsigned, forged or denied ones get AWS-style XML errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    let verifier = web::Data::new(Verifier::new(
        store,
        VerifierOptions::new("orders", keys(), directory()),
    ));
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
