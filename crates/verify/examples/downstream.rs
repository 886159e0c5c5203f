//! A downstream service behind idbroker: every request must be SigV4-signed with idbroker
//! credentials (service `orders`); each route is one IAM action on one resource.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 IDBROKER_SEALING_KEY=<64 hex> \
//!   cargo run -p idbroker-verify --features actix --example downstream
//! ```
//!
//! Without `REDIS_URL` the store is in memory (nothing will verify: sessions live in the
//! server). The policies here stand in for the server's directory.

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use idbroker_session::{RedisOptions, SealingKeys, SessionStoreConfig};
use idbroker_verify::actix::{facts, require_sigv4};
use idbroker_verify::{PolicyDirectory, VerifiedCaller, Verifier, VerifierOptions, VerifyError};

const ACCOUNT: &str = "123456789012";

fn resource(caller: &VerifiedCaller, path: &str) -> String {
    format!("arn:aws:orders:{}:{ACCOUNT}:{path}", caller.region())
}

async fn list(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
) -> Result<HttpResponse, VerifyError> {
    v.require(
        &caller,
        "orders:ListOrders",
        &resource(&caller, "order/*"),
        &facts(&req, SystemTime::now()),
    )?;
    Ok(HttpResponse::Ok().json(serde_json_free_list(caller.arn())))
}

/// One order, one action: `orders:GetOrder` or `orders:DeleteOrder` on `order/{id}`.
async fn one(
    action: &'static str,
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
    id: web::Path<String>,
) -> Result<HttpResponse, VerifyError> {
    let res = resource(&caller, &format!("order/{id}"));
    v.require(&caller, action, &res, &facts(&req, SystemTime::now()))?;
    Ok(HttpResponse::Ok().body(format!("{action} on order {id} for {}\n", caller.arn())))
}

fn serde_json_free_list(arn: &str) -> Vec<String> {
    vec![format!("orders visible to {arn}")]
}

fn hex32(s: &str) -> Option<Vec<u8>> {
    (s.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = match std::env::var("IDBROKER_SEALING_KEY")
        .ok()
        .and_then(|k| hex32(&k))
    {
        Some(k) => SealingKeys::new("k1", &k)?,
        None => SealingKeys::ephemeral()?,
    };
    let mut dir = PolicyDirectory::new();
    dir.add_inline_policy(
        &format!("arn:aws:iam::{ACCOUNT}:role/demo"),
        "orders-read",
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["orders:ListOrders","orders:GetOrder"],"Resource":"*"},
            {"Effect":"Deny","Action":"orders:DeleteOrder","Resource":"*"}]}"#,
    )?;
    let config = match std::env::var("REDIS_URL") {
        Ok(url) => SessionStoreConfig::Redis {
            url,
            options: RedisOptions::default(),
        },
        Err(_) => SessionStoreConfig::Memory,
    };
    let options = VerifierOptions::new(Arc::new(keys), Arc::new(dir)).with_service("orders");
    let verifier = web::Data::new(Verifier::connect(&config, options).await?);
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8088".into());
    println!("downstream example listening on http://{addr}");
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .wrap(actix_web::middleware::from_fn(require_sigv4))
            .route("/orders", web::get().to(list))
            .route(
                "/orders/{id}",
                web::get().to(|r, c, v, id| one("orders:GetOrder", r, c, v, id)),
            )
            .route(
                "/orders/{id}",
                web::delete().to(|r, c, v, id| one("orders:DeleteOrder", r, c, v, id)),
            )
    })
    .bind(addr)?
    .run()
    .await?;
    Ok(())
}
