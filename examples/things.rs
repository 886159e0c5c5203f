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
//! cargo run --example things        # with the demo server (README): no setting needed
//! ```
//!
//! It knows idbroker's URL and its own key, nothing else: no sealing key, no session store.
//! For each access key, date and region it has not seen it asks idbroker once for that scope's
//! signing key, the caller's facts and the server's policies for it (`POST /verify/key`), then
//! verifies and authorizes in-process; revocations reach it over `GET /verify/events`
//! (docs/VERIFIER-PROTOCOL.md). Settings (environment):
//!
//! - `IDBROKER_URL` (default `http://127.0.0.1:8080`, the demo server), `IDBROKER_CA_FILE`;
//! - `IDBROKER_ACCESS_KEY_ID`, `IDBROKER_SECRET_ACCESS_KEY` (default: the demo's
//!   DEVELOPMENT-ONLY `things-service` key, config/demo/idbroker.toml), `IDBROKER_SESSION_TOKEN`;
//! - `LISTEN` (default `127.0.0.1:8088`); `HOST` (e.g. `things.example.com`), when set, is the
//!   host clients must have signed for: a request signed for another host is refused.
//!
//! The tests (tests/verify_e2e.rs) run this program as a process of its own, with nothing but
//! idbroker's URL and the service's key in its environment.

use std::time::SystemTime;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use idbroker_verify::actix::{facts, require_sigv4};
use idbroker_verify::{RemoteConfig, VerifiedCaller, Verifier, VerifierOptions, VerifyError};

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

/// The demo's DEVELOPMENT-ONLY key of this service (config/demo/idbroker.toml).
const DEMO_KEY: &str = "AKIAIDBROKERTHINGS01";
const DEMO_SECRET: &str = "idbrokerDemoThingsSecretDoNotUseIt000000";

/// What the service is configured with: idbroker's URL and its own key (the demo's by default).
pub fn remote_config() -> Result<RemoteConfig, Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let url = var("IDBROKER_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let mut config = match (
        var("IDBROKER_ACCESS_KEY_ID"),
        var("IDBROKER_SECRET_ACCESS_KEY"),
    ) {
        (Some(key), Some(secret)) => RemoteConfig::new(url, key, secret),
        _ => {
            eprintln!(
                "IDBROKER_ACCESS_KEY_ID unset: the demo's development-only things-service key"
            );
            RemoteConfig::new(url, DEMO_KEY, DEMO_SECRET)
        }
    };
    config.session_token = var("IDBROKER_SESSION_TOKEN").map(zeroize::Zeroizing::new);
    if let Some(path) = var("IDBROKER_CA_FILE") {
        config.ca_pem = Some(std::fs::read(path)?);
    }
    if let Some(region) = var("IDBROKER_REGION") {
        config.region = region;
    }
    Ok(config)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = remote_config()?;
    let idbroker = config.url.clone();
    let mut options = VerifierOptions::new(SERVICE);
    // Requests signed for another host (another service that trusts the same idbroker) are
    // refused when HOST says which host clients reach this service at.
    if let Some(host) = std::env::var("HOST").ok().filter(|h| !h.is_empty()) {
        options = options.with_host(host);
    }
    let verifier = web::Data::new(Verifier::remote(config, options)?);
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8088".into());
    println!("example service listening on http://{addr} (idbroker at {idbroker})");
    HttpServer::new(move || App::new().app_data(verifier.clone()).configure(app))
        .bind(addr)?
        .run()
        .await?;
    Ok(())
}
