//! The web console: sign-in pages (SAML ACS, SP-initiated SAML, OIDC login), the role picker,
//! the landing page, sign-out, and AWS's federation endpoint. Handlers only: read the request,
//! call `crate::console` and the federation validators, render a page.
//!
//! Every page is served with a strict CSP (no inline script or style, `frame-ancestors
//! 'none'`), `Cache-Control: no-store` (pages carry credentials or one-time state), and every
//! POST form carries a CSRF token that must match the sealed cookie it belongs to (cookies are
//! also `SameSite=Lax`, `HttpOnly`, and `Secure` when the public URL is HTTPS).

//!
//! Files: `signin.rs` (ACS, SP-initiated SAML, OIDC login and callback, the role picker),
//! `cli.rs` (command-line sign-in: the loopback flow's start, the device pages, the CLI's JSON
//! calls), `password.rs` (IAM users' sign-in: password, MFA code, new password), `session.rs` (landing page, sign-out), `federation.rs` (`/federation`), `pages.rs`
//! (HTML).

mod cli;
mod federation;
pub(super) mod pages;
mod password;
mod session;
mod signin;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

use crate::console::ConsoleError;
use crate::http::audit::Outcome;
use crate::http::error::console_error;
use crate::http::Call;
use crate::state::AppState;
use federation::federation;
use session::{landing, signout};
use signin::{oidc_callback, oidc_login, pick, picker, saml_acs, saml_login};

pub(super) const PICK_COOKIE: &str = "idb_pick";
pub(super) const CONSOLE_COOKIE: &str = "idb_console";
pub(super) const OIDC_COOKIE: &str = "idb_oidc";
pub(super) const CLI_COOKIE: &str = "idb_cli";
pub(super) const DEVICE_COOKIE: &str = "idb_device";
pub(super) const PASSWORD_COOKIE: &str = "idb_pw";
pub(super) const PASSWORD_FORM_COOKIE: &str = "idb_pwform";

/// Routes of the console, for `App::configure`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(landing))
        .route("/console/", web::get().to(landing))
        .route("/console/signin", web::get().to(signin))
        .route("/console/roles", web::get().to(picker))
        .route("/console/roles", web::post().to(pick))
        .route("/console/signout", web::post().to(signout))
        .route("/console/saml/login", web::get().to(saml_login))
        .route("/saml/acs", web::post().to(saml_acs))
        .route("/console/oidc/login", web::get().to(oidc_login))
        .route("/console/oidc/callback", web::get().to(oidc_callback))
        .route("/console/cli/start", web::get().to(cli::start))
        .route("/console/cli/token", web::post().to(cli::token))
        .route("/console/cli/credentials", web::post().to(cli::credentials))
        .route("/console/device", web::get().to(cli::entry))
        .route("/console/device", web::post().to(cli::enter))
        .route(
            "/console/device/authorize",
            web::post().to(cli::device_authorize),
        )
        .route(
            "/console/signin/password",
            web::get().to(password::password_page),
        )
        .route(
            "/console/signin/password",
            web::post().to(password::password_submit),
        )
        .route("/console/signin/mfa", web::get().to(password::mfa_page))
        .route("/console/signin/mfa", web::post().to(password::mfa_submit))
        .route(
            "/console/signin/change",
            web::get().to(password::change_page),
        )
        .route(
            "/console/signin/change",
            web::post().to(password::change_submit),
        )
        .route("/federation", web::get().to(federation))
        .route("/console/static/console.css", web::get().to(css))
        .route("/console/static/console.js", web::get().to(js));
}

/// What every console response carries.
pub(super) fn secured(mut b: HttpResponseBuilder, state: &AppState) -> HttpResponseBuilder {
    b.insert_header((
        header::CONTENT_SECURITY_POLICY,
        state.config.console.csp.as_str(),
    ))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::REFERRER_POLICY, "no-referrer"))
    .insert_header((header::CACHE_CONTROL, "no-store"))
    .insert_header((header::PRAGMA, "no-cache"));
    if state.config.console.secure_cookies {
        b.insert_header((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    b
}

pub(super) fn html(status: StatusCode, state: &AppState) -> HttpResponseBuilder {
    let mut b = secured(HttpResponse::build(status), state);
    b.content_type("text/html; charset=utf-8");
    b
}

pub(super) fn page(status: StatusCode, state: &AppState, body: String) -> HttpResponse {
    html(status, state).body(body)
}

pub(super) fn cookie<'a>(
    state: &AppState,
    name: &'a str,
    value: String,
    path: &'a str,
    secs: u64,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.config.console.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(i64::try_from(secs).unwrap_or(0)))
        .finish()
}

pub(super) fn removal<'a>(state: &AppState, name: &'a str, path: &'a str) -> Cookie<'a> {
    let mut c = cookie(state, name, String::new(), path, 0);
    c.make_removal();
    c
}

pub(super) fn error_page(state: &AppState, e: &ConsoleError, request_id: &str) -> HttpResponse {
    let p = console_error(e);
    if p.status >= 500 {
        tracing::warn!(request_id, code = p.code, "console error");
    }
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, state, pages::error(&p, request_id))
}

pub(super) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Count the call, write its audit record, and answer: the response, or the error's page.
pub(super) fn finish(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    call: &Call,
    result: Result<HttpResponse, ConsoleError>,
) -> HttpResponse {
    let page = result.as_ref().err().map(console_error);
    let outcome = Outcome::failed(page.as_ref().map(|p| (p.code, p.detail.as_str())));
    call.end(state, req, action, outcome, None);
    match result {
        Ok(r) => r,
        Err(e) => error_page(state, &e, &call.request_id),
    }
}

pub(super) fn query(req: &HttpRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(super) fn form(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `to` / RelayState: where to go after sign-in, if allowed. Empty means the console.
pub(super) fn destination(
    state: &AppState,
    to: Option<&str>,
) -> Result<Option<String>, ConsoleError> {
    match to.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => state
            .config
            .console
            .destination(t)
            .map(Some)
            .ok_or_else(|| {
                ConsoleError::Destination(
                    "The address to go to after sign-in is not one idbroker may send you to".into(),
                )
            }),
    }
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("static/console.css"))
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("static/console.js"))
}

/// `GET /console/signin`: the providers a person can sign in with.
async fn signin(state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let mut providers = Vec::new();
    for p in state.config.saml.providers() {
        if p.keys().sso_redirect_url.is_some() {
            providers.push(pages::ProviderLink {
                kind: "saml",
                name: p.name.clone(),
                display: p.name.clone(),
                href: format!(
                    "/console/saml/login?provider={}",
                    form_urlencoded::byte_serialize(p.name.as_bytes()).collect::<String>()
                ),
            });
        }
    }
    for l in &state.config.console.oidc_logins {
        providers.push(pages::ProviderLink {
            kind: "oidc",
            name: l.name.clone(),
            display: l.display_name.clone(),
            href: format!(
                "/console/oidc/login?provider={}",
                form_urlencoded::byte_serialize(l.name.as_bytes()).collect::<String>()
            ),
        });
    }
    page(StatusCode::OK, &state, pages::signin(providers, &rid))
}
