//! An example downstream service behind idbroker: every request must be SigV4-signed (service
//! `example`) with idbroker-issued credentials; idbroker-verify's actix middleware verifies it,
//! and each route asks for one IAM action on one resource:
//!
//! | route                 | action                | resource                                         |
//! |-----------------------|-----------------------|--------------------------------------------------|
//! | `GET /things`         | `example:ListThings`  | `arn:aws:example:REGION:ACCOUNT:thing/*`         |
//! | `GET /things/{id}`    | `example:GetThing`    | `arn:aws:example:REGION:ACCOUNT:thing/{id}`      |
//! | `PUT /things/{id}`    | `example:PutThing`    | `arn:aws:example:REGION:ACCOUNT:thing/{id}`      |
//! | `DELETE /things/{id}` | `example:DeleteThing` | `arn:aws:example:REGION:ACCOUNT:thing/{id}`      |
//!
//! ```text
//! IDBROKER_STORE_URL=redis://127.0.0.1:6379 IDBROKER_SEALING_KEY=<the server's key, base64> \
//!   cargo run --example things
//! ```
//!
//! It reads sessions from the server's Redis (same `IDBROKER_STORE_PREFIX`, default
//! `idbroker:`) and opens their secrets with the server's sealing key (`IDBROKER_SEALING_KEY`,
//! id `IDBROKER_SEALING_KEY_ID`, default `k1`). `HOST` (e.g. `things.example.com`), when set, is
//! the host clients must have signed for: a request signed for another host is refused. The role
//! policies below stand in for the
//! server's directory (the demo roles): ReportsReader may list and read things, Admin anything.
//! The tests (tests/verify_e2e.rs) run [`app`] with the test server's own policies.

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use idbroker_session::{RedisOptions, SealingKeys, SessionStoreConfig};
use idbroker_verify::actix::{facts, require_sigv4};
use idbroker_verify::{PolicyDirectory, VerifiedCaller, Verifier, VerifierOptions, VerifyError};

/// The service name requests must be signed for.
pub const SERVICE: &str = "example";

fn arn(caller: &VerifiedCaller, resource: &str) -> String {
    format!(
        "arn:aws:example:{}:{}:{resource}",
        caller.region(),
        caller.account()
    )
}

/// Authorize `action` on `thing/{id}` (or `thing/*`) and answer a line of text.
fn act(
    req: &HttpRequest,
    caller: &VerifiedCaller,
    v: &Verifier,
    action: &str,
    id: &str,
) -> Result<HttpResponse, VerifyError> {
    let resource = arn(caller, &format!("thing/{id}"));
    // An example service outside idbroker: the wall clock is its clock.
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now();
    v.require(caller, action, &resource, &facts(req, now))?;
    Ok(HttpResponse::Ok().body(format!("{action} {resource} by {}\n", caller.arn())))
}

async fn list(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
) -> Result<HttpResponse, VerifyError> {
    act(&req, &caller, &v, "example:ListThings", "*")
}

async fn get(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
    id: web::Path<String>,
) -> Result<HttpResponse, VerifyError> {
    act(&req, &caller, &v, "example:GetThing", &id)
}

async fn put(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
    id: web::Path<String>,
) -> Result<HttpResponse, VerifyError> {
    act(&req, &caller, &v, "example:PutThing", &id)
}

async fn delete(
    req: HttpRequest,
    caller: VerifiedCaller,
    v: web::Data<Verifier>,
    id: web::Path<String>,
) -> Result<HttpResponse, VerifyError> {
    act(&req, &caller, &v, "example:DeleteThing", &id)
}

/// The service's routes, behind the verifying middleware. The app needs a
/// `web::Data<Verifier>`.
pub fn app(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .wrap(actix_web::middleware::from_fn(require_sigv4))
            .route("/things", web::get().to(list))
            .route("/things/{id}", web::get().to(get))
            .route("/things/{id}", web::put().to(put))
            .route("/things/{id}", web::delete().to(delete)),
    );
}

/// Stand-ins for the demo roles' policies (config/demo/idbroker.toml).
fn demo_policies() -> Result<PolicyDirectory, idbroker_verify::DirectoryError> {
    let mut dir = PolicyDirectory::new();
    dir.add_inline_policy(
        "arn:aws:iam::123456789012:role/demo/ReportsReader",
        "things-read",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Action":["example:ListThings","example:GetThing"],"Resource":"*"}]}"#,
    )?;
    dir.add_inline_policy(
        "arn:aws:iam::123456789012:role/demo/Admin",
        "all",
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )?;
    Ok(dir)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok();
    let keys = match env("IDBROKER_SEALING_KEY") {
        Some(k) => SealingKeys::new(
            &env("IDBROKER_SEALING_KEY_ID").unwrap_or_else(|| "k1".into()),
            &data_encoding::BASE64.decode(k.trim().as_bytes())?,
        )?,
        None => {
            eprintln!("IDBROKER_SEALING_KEY unset: a random key (no session will verify)");
            SealingKeys::ephemeral()?
        }
    };
    let config = match env("IDBROKER_STORE_URL") {
        Some(url) => SessionStoreConfig::Redis {
            url,
            options: RedisOptions {
                prefix: env("IDBROKER_STORE_PREFIX").unwrap_or_else(|| "idbroker:".into()),
                ..RedisOptions::default()
            },
        },
        None => {
            eprintln!(
                "IDBROKER_STORE_URL unset: an empty in-memory store (no session will verify)"
            );
            SessionStoreConfig::Memory
        }
    };
    let mut options = VerifierOptions::new(SERVICE, Arc::new(keys), Arc::new(demo_policies()?));
    // Requests signed for another host (another service that trusts the same sessions) are
    // refused when HOST says which host clients reach this service at.
    if let Some(host) = env("HOST") {
        options = options.with_host(host);
    }
    let verifier = web::Data::new(Verifier::connect(&config, options).await?);
    let addr = env("LISTEN").unwrap_or_else(|| "127.0.0.1:8088".into());
    println!("example service listening on http://{addr}");
    HttpServer::new(move || App::new().app_data(verifier.clone()).configure(app))
        .bind(addr)?
        .run()
        .await?;
    Ok(())
}
