//! The web console: sign-in pages (SAML ACS, SP-initiated SAML, OIDC login), the role picker,
//! the landing page, sign-out, and AWS's federation endpoint. Handlers only: read the request,
//! call `crate::console` and the federation validators, render a page.
//!
//! Every page is served with a strict CSP (no inline script or style, `frame-ancestors
//! 'none'`), `Cache-Control: no-store` (pages carry credentials or one-time state), and every
//! POST form carries a CSRF token that must match the sealed cookie it belongs to (cookies are
//! also `SameSite=Lax`, `HttpOnly`, and `Secure` when the public URL is HTTPS).

mod pages;

use std::time::SystemTime;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use tracing::instrument;

use crate::clock::epoch;
use crate::console::oidc_login::LoginState;
use crate::console::seal::{random_hex, Purpose};
use crate::console::{
    self, ConsoleError, ConsoleSession, PendingSignin, RoleOption, SignedInVia, SigninToken,
};
use crate::federation::saml::InResponseTo;
use crate::http::error::{console_error, console_oidc_error, console_saml_error};
use crate::http::Audit;
use crate::state::AppState;

const PICK_COOKIE: &str = "idb_pick";
const CONSOLE_COOKIE: &str = "idb_console";
const OIDC_COOKIE: &str = "idb_oidc";

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
        .route("/federation", web::get().to(federation))
        .route("/console/static/console.css", web::get().to(css))
        .route("/console/static/console.js", web::get().to(js));
}

/// What every console response carries.
fn secured(mut b: HttpResponseBuilder, state: &AppState) -> HttpResponseBuilder {
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

fn html(status: StatusCode, state: &AppState) -> HttpResponseBuilder {
    let mut b = secured(HttpResponse::build(status), state);
    b.content_type("text/html; charset=utf-8");
    b
}

fn page(status: StatusCode, state: &AppState, body: String) -> HttpResponse {
    html(status, state).body(body)
}

fn cookie<'a>(
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

fn removal<'a>(state: &AppState, name: &'a str, path: &'a str) -> Cookie<'a> {
    let mut c = cookie(state, name, String::new(), path, 0);
    c.make_removal();
    c
}

fn error_page(state: &AppState, e: &ConsoleError, request_id: &str) -> HttpResponse {
    let p = console_error(e);
    if p.status >= 500 {
        tracing::warn!(request_id, code = p.code, "console error");
    }
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, state, pages::error(&p, request_id))
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn source_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// Emit the audit event and count the call.
fn finish(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    request_id: &str,
    audit: &Audit,
    result: Result<HttpResponse, ConsoleError>,
    started: std::time::Instant,
) -> HttpResponse {
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => console_error(e).code,
    };
    state.metrics.observe(action, outcome, started.elapsed());
    audit.emit(request_id, action, outcome, &source_ip(req), None);
    match result {
        Ok(r) => r,
        Err(e) => error_page(state, &e, request_id),
    }
}

fn query(req: &HttpRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn form(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// `to` / RelayState: where to go after sign-in, if allowed. Empty means the console.
fn destination(state: &AppState, to: Option<&str>) -> Result<Option<String>, ConsoleError> {
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

/// The sign-in is decided: one role signs in at once; several go to the picker.
async fn signed_in(
    state: &AppState,
    via: SignedInVia,
    to: Option<String>,
    options: Vec<RoleOption>,
    refusals: &[String],
    audit: &mut Audit,
    now: SystemTime,
) -> Result<HttpResponse, ConsoleError> {
    audit.caller = Some(via.provider.clone());
    audit.subject = Some(via.subject.clone());
    match options.len() {
        0 => {
            tracing::info!(refusals = ?refusals, "console sign-in: no role allowed");
            Err(ConsoleError::NoRole(
                "None of the roles your identity provider names would let you in.".into(),
            ))
        }
        1 => {
            let Some(only) = options.into_iter().next() else {
                return Err(ConsoleError::Internal);
            };
            start_console(state, &only, to, None, audit, now).await
        }
        _ => {
            let sealed =
                console::pending(&state.config.console.sealer, via, to, options, epoch(now))?;
            if sealed.len() > 3800 {
                return Err(ConsoleError::BadRequest(
                    "Your identity provider allows more roles than the role picker can hold; ask your administrator to narrow them".into(),
                ));
            }
            Ok(secured(HttpResponse::SeeOther(), state)
                .insert_header((header::LOCATION, "/console/roles"))
                .cookie(cookie(
                    state,
                    PICK_COOKIE,
                    sealed,
                    "/console",
                    console::PICK_TTL,
                ))
                .finish())
        }
    }
}

/// Mint the session of `option` and give the browser its console cookie.
async fn start_console(
    state: &AppState,
    option: &RoleOption,
    to: Option<String>,
    clear: Option<&'static str>,
    audit: &mut Audit,
    now: SystemTime,
) -> Result<HttpResponse, ConsoleError> {
    let plan = option.plan(&state.config.directory)?;
    let issued = crate::sts::mint::mint(&state.sts(), plan, now).await?;
    audit.issued(&issued);
    let creds = &issued.credentials;
    let exp = epoch(creds.expiration());
    let session = ConsoleSession {
        akid: creds.access_key_id().to_owned(),
        token: creds.session_token().to_owned(),
        exp,
        csrf: random_hex(16)?,
        issuer: None,
    };
    let sealed = state
        .config
        .console
        .sealer
        .seal(Purpose::Console, &session)?;
    let target = to.unwrap_or_else(|| state.config.console.landing());
    let mut b = secured(HttpResponse::SeeOther(), state);
    b.insert_header((header::LOCATION, target)).cookie(cookie(
        state,
        CONSOLE_COOKIE,
        sealed,
        "/",
        exp.saturating_sub(epoch(now)),
    ));
    if let Some(name) = clear {
        b.cookie(removal(state, name, "/console"));
    }
    Ok(b.finish())
}

/// `POST /saml/acs`: a SAML response, IdP-initiated or answering an AuthnRequest of ours.
#[instrument(skip_all)]
async fn saml_acs(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let started = std::time::Instant::now();
    let rid = request_id();
    let mut audit = Audit::default();
    let result = acs(&req, &body, &state, &mut audit).await;
    finish(
        &state,
        &req,
        "ConsoleSignInSAML",
        &rid,
        &audit,
        result,
        started,
    )
}

async fn acs(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    audit: &mut Audit,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.clock.now();
    let encoded = form(body, "SAMLResponse")
        .ok_or_else(|| ConsoleError::BadRequest("The request has no SAMLResponse".into()))?;
    let to = destination(state, form(body, "RelayState").as_deref())?;
    let saml = &state.config.saml;
    // Read once before verification, trusting nothing: the Issuer chooses the keys, and a
    // status that is not Success is the IdP telling the person something went wrong there
    // (often unsigned, without an assertion): say so, and grant nothing.
    let untrusted = crate::federation::saml::peek(&encoded).unwrap_or_default();
    if let Some(failed) = untrusted.failed_status() {
        return Err(ConsoleError::Idp(format!(
            "Your identity provider could not sign you in (status {failed})"
        )));
    }
    let provider = untrusted.provider(saml).ok_or_else(|| {
        ConsoleError::Identity(
            "The SAML response does not come from an identity provider idbroker trusts".into(),
        )
    })?;
    let now_s = epoch(now);
    let (config, arn) = (state.config.clone(), provider.arn.clone());
    let issued = move |id: &str| console::saml_sp::issued(&config.console.sealer, &arn, id, now_s);
    let verified = crate::federation::saml::verify(
        provider,
        saml,
        &encoded,
        InResponseTo::UnsolicitedOr(std::sync::Arc::new(issued)),
        state.store.as_ref(),
        now,
    )
    .await
    .map_err(console_saml_error)?;
    let facts = crate::http::facts(req, state);
    let (options, refusals) = console::saml_options(
        &state.config.directory,
        provider,
        &verified,
        &facts,
        now,
        state.config.console.session_duration,
    );
    let via = SignedInVia {
        provider: provider.arn.clone(),
        subject: verified.subject().to_owned(),
    };
    signed_in(state, via, to, options, &refusals, audit, now).await
}

/// `GET /console/saml/login?provider=NAME[&to=...]`: SP-initiated sign-in.
async fn saml_login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let run = || -> Result<HttpResponse, ConsoleError> {
        let name = query(&req, "provider").ok_or_else(|| {
            ConsoleError::BadRequest("Which identity provider? (provider=)".into())
        })?;
        let provider = state
            .config
            .saml
            .providers()
            .find(|p| p.name == name)
            .ok_or_else(|| ConsoleError::BadRequest(format!("No identity provider {name:?}")))?;
        let to = query(&req, "to");
        destination(&state, to.as_deref())?;
        // RelayState is at most 80 bytes (SAML bindings 3.4.3): a longer target is dropped.
        let relay = to.filter(|t| t.len() <= 80);
        let url = console::saml_sp::authn_request_url(
            &state.config.console.sealer,
            &state.config.saml,
            provider,
            relay.as_deref(),
            state.config.console.sign_authn_requests,
            state.clock.now(),
        )?;
        Ok(secured(HttpResponse::Found(), &state)
            .insert_header((header::LOCATION, url))
            .finish())
    };
    run().unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// `GET /console/oidc/login?provider=NAME[&to=...]`: the authorization code flow starts.
async fn oidc_login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let result: Result<HttpResponse, ConsoleError> = async {
        let name = query(&req, "provider").ok_or_else(|| {
            ConsoleError::BadRequest("Which identity provider? (provider=)".into())
        })?;
        let login =
            state.config.console.oidc_login(&name).ok_or_else(|| {
                ConsoleError::BadRequest(format!("No identity provider {name:?}"))
            })?;
        let to = destination(&state, query(&req, "to").as_deref())?;
        let redirect = format!("{}/console/oidc/callback", state.config.console.public_url);
        let now_s = epoch(state.clock.now());
        let (url, login_state) = state
            .console_logins
            .start(login, &redirect, to, now_s)
            .await?;
        let sealed = state
            .config
            .console
            .sealer
            .seal(Purpose::OidcLogin, &login_state)?;
        Ok(secured(HttpResponse::Found(), &state)
            .insert_header((header::LOCATION, url))
            .cookie(cookie(
                &state,
                OIDC_COOKIE,
                sealed,
                "/console/oidc",
                console::LOGIN_TTL,
            ))
            .finish())
    }
    .await;
    result.unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// `GET /console/oidc/callback?code=..&state=..` (or `error=..`).
#[instrument(skip_all)]
async fn oidc_callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let started = std::time::Instant::now();
    let rid = request_id();
    let mut audit = Audit::default();
    let result = callback(&req, &state, &mut audit).await;
    let mut resp = finish(
        &state,
        &req,
        "ConsoleSignInOIDC",
        &rid,
        &audit,
        result,
        started,
    );
    // The login state is used once, whatever the outcome.
    let _ = resp.add_cookie(&removal(&state, OIDC_COOKIE, "/console/oidc"));
    resp
}

async fn callback(
    req: &HttpRequest,
    state: &AppState,
    audit: &mut Audit,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.clock.now();
    let expired = || {
        ConsoleError::Csrf(
            "This sign-in was not started here, or took too long. Start again.".into(),
        )
    };
    let login_state: LoginState = req
        .cookie(OIDC_COOKIE)
        .and_then(|c| {
            state
                .config
                .console
                .sealer
                .open(Purpose::OidcLogin, c.value())
        })
        .ok_or_else(expired)?;
    if login_state.exp <= epoch(now) {
        return Err(expired());
    }
    let returned = query(req, "state").unwrap_or_default();
    if !same(&returned, &login_state.state) {
        return Err(expired());
    }
    if let Some(err) = query(req, "error") {
        let desc = query(req, "error_description").unwrap_or_default();
        let shown: String = format!("{err}: {desc}").chars().take(300).collect();
        return Err(ConsoleError::Idp(format!(
            "The identity provider did not sign you in ({shown})"
        )));
    }
    let code = query(req, "code")
        .ok_or_else(|| ConsoleError::BadRequest("The identity provider sent no code".into()))?;
    let login = state
        .config
        .console
        .oidc_login(&login_state.provider)
        .ok_or_else(expired)?;
    let redirect = format!("{}/console/oidc/callback", state.config.console.public_url);
    let raw = state
        .console_logins
        .finish(login, &redirect, &login_state, &code)
        .await?;
    let token = state
        .oidc
        .verify(&raw, state.store.as_ref(), now)
        .await
        .map_err(console_oidc_error)?;
    if token.issuer() != login.issuer || token.audience() != login.client_id {
        return Err(ConsoleError::Identity(
            "The ID token was not issued to idbroker's console".into(),
        ));
    }
    if !token.nonce().is_some_and(|n| same(&n, &login_state.nonce)) {
        return Err(ConsoleError::Identity(
            "The ID token does not answer this sign-in (nonce)".into(),
        ));
    }
    let facts = crate::http::facts(req, state);
    let (options, refusals) = console::oidc_options(
        &state.config.directory,
        &token,
        &facts,
        now,
        state.config.console.session_duration,
    );
    let via = SignedInVia {
        provider: token.provider_arn().to_owned(),
        subject: token.subject().to_owned(),
    };
    signed_in(state, via, login_state.to, options, &refusals, audit, now).await
}

fn pending(req: &HttpRequest, state: &AppState, now: u64) -> Option<PendingSignin> {
    req.cookie(PICK_COOKIE)
        .and_then(|c| {
            state
                .config
                .console
                .sealer
                .open::<PendingSignin>(Purpose::Pick, c.value())
        })
        .filter(|p| p.exp > now)
}

/// `GET /console/roles`: the role picker.
async fn picker(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let now = epoch(state.clock.now());
    match pending(&req, &state, now) {
        Some(p) => page(
            StatusCode::OK,
            &state,
            pages::picker(&p, &state.config.directory, &rid),
        ),
        None => error_page(
            &state,
            &ConsoleError::Csrf("There is no sign-in waiting for a role choice.".into()),
            &rid,
        ),
    }
}

/// `POST /console/roles`: the choice.
#[instrument(skip_all)]
async fn pick(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let started = std::time::Instant::now();
    let rid = request_id();
    let mut audit = Audit::default();
    let result: Result<HttpResponse, ConsoleError> = async {
        let now = state.clock.now();
        let p = pending(&req, &state, epoch(now)).ok_or_else(|| {
            ConsoleError::Csrf("This role choice has expired or was already made.".into())
        })?;
        let csrf = form(&body, "csrf").unwrap_or_default();
        if !same(&csrf, &p.id) {
            return Err(ConsoleError::Csrf(
                "The form does not belong to this sign-in.".into(),
            ));
        }
        let role = form(&body, "role")
            .ok_or_else(|| ConsoleError::BadRequest("No role was chosen".into()))?;
        let option = p
            .options
            .iter()
            .find(|o| o.role == role)
            .ok_or_else(|| ConsoleError::NoRole("That role is not one you may take.".into()))?;
        // One session per sign-in: the pick is single use across replicas.
        match state.store.use_once("pick", &p.id, p.exp, epoch(now)).await {
            Ok(()) => {}
            Err(idbroker_session::SessionError::Replay) => {
                return Err(ConsoleError::Csrf(
                    "This role choice was already made.".into(),
                ))
            }
            Err(_) => return Err(ConsoleError::Unavailable),
        }
        audit.caller = Some(p.via.provider.clone());
        audit.subject = Some(p.via.subject.clone());
        start_console(
            &state,
            option,
            p.to.clone(),
            Some(PICK_COOKIE),
            &mut audit,
            now,
        )
        .await
    }
    .await;
    finish(
        &state,
        &req,
        "ConsolePickRole",
        &rid,
        &audit,
        result,
        started,
    )
}

fn console_session(req: &HttpRequest, state: &AppState) -> Option<ConsoleSession> {
    req.cookie(CONSOLE_COOKIE).and_then(|c| {
        state
            .config
            .console
            .sealer
            .open::<ConsoleSession>(Purpose::Console, c.value())
    })
}

/// `GET /console`: who you are, and the credentials for the CLI.
#[instrument(skip_all)]
async fn landing(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let now = epoch(state.clock.now());
    let signed_out = |reason: &str, issuer: Option<&str>| {
        let mut b = html(StatusCode::OK, &state);
        if req.cookie(CONSOLE_COOKIE).is_some() {
            b.cookie(removal(&state, CONSOLE_COOKIE, "/"));
        }
        b.body(pages::signed_out(reason, issuer, &rid))
    };
    let Some(cs) = console_session(&req, &state) else {
        return signed_out("Sign in to see your session.", None);
    };
    if cs.exp <= now {
        return signed_out("Your session has ended.", cs.issuer.as_deref());
    }
    let session = match console::check_credentials(
        state.store.as_ref(),
        &state.keys,
        &cs.akid,
        None,
        &cs.token,
        now,
    )
    .await
    {
        Ok(s) => s,
        Err(ConsoleError::Unavailable) => {
            return error_page(&state, &ConsoleError::Unavailable, &rid)
        }
        Err(_) => {
            return signed_out(
                "Your session has ended or was revoked.",
                cs.issuer.as_deref(),
            )
        }
    };
    let Ok(id) = idbroker_session::AccessKeyId::parse(&cs.akid) else {
        return signed_out("Sign in to see your session.", None);
    };
    let Ok(secret) = state.keys.unseal(&session.secret, &id) else {
        return error_page(&state, &ConsoleError::Internal, &rid);
    };
    let view = pages::Landing {
        arn: &session.principal.arn,
        role_arn: session.principal.role_arn.as_deref().unwrap_or_default(),
        source_identity: session.principal.source_identity.as_deref(),
        access_key_id: &cs.akid,
        secret: secret.expose_secret(),
        token: &cs.token,
        region: &state.config.region,
        expires: cs.exp.min(session.expires_at),
        now,
        csrf: &cs.csrf,
        request_id: &rid,
    };
    page(StatusCode::OK, &state, pages::landing(&view))
}

/// `POST /console/signout`: revoke the session and forget the cookie.
#[instrument(skip_all)]
async fn signout(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let started = std::time::Instant::now();
    let rid = request_id();
    let mut audit = Audit::default();
    let result: Result<HttpResponse, ConsoleError> = async {
        let done = secured(HttpResponse::SeeOther(), &state)
            .insert_header((header::LOCATION, "/console"))
            .cookie(removal(&state, CONSOLE_COOKIE, "/"))
            .finish();
        let Some(cs) = console_session(&req, &state) else {
            return Ok(done);
        };
        let csrf = form(&body, "csrf").unwrap_or_default();
        if !same(&csrf, &cs.csrf) {
            return Err(ConsoleError::Csrf(
                "The sign-out form does not belong to this session.".into(),
            ));
        }
        let id = idbroker_session::AccessKeyId::parse(&cs.akid)
            .map_err(|_| ConsoleError::BadRequest("Not a session".into()))?;
        state
            .store
            .revoke(&id)
            .await
            .map_err(|_| ConsoleError::Unavailable)?;
        audit.access_key_id = Some(cs.akid.clone());
        audit.target = Some(cs.akid.clone());
        Ok(done)
    }
    .await;
    finish(
        &state,
        &req,
        "ConsoleSignOut",
        &rid,
        &audit,
        result,
        started,
    )
}

#[derive(serde::Deserialize)]
struct FederationSession {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "sessionKey")]
    session_key: String,
    #[serde(rename = "sessionToken")]
    session_token: String,
}

fn json_error(state: &AppState, e: &ConsoleError, request_id: &str) -> HttpResponse {
    let p = console_error(e);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    secured(HttpResponse::build(status), state)
        .content_type("application/json")
        .body(
            serde_json::json!({"Error": {"Code": p.code, "Message": p.detail}, "RequestId": request_id})
                .to_string(),
        )
}

/// `GET /federation`: AWS's federation endpoint (`getSigninToken`, `login`).
#[instrument(skip_all)]
async fn federation(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let started = std::time::Instant::now();
    let rid = request_id();
    let mut audit = Audit::default();
    let action = query(&req, "Action").unwrap_or_default();
    match action.as_str() {
        "getSigninToken" => {
            let result = get_signin_token(&req, &state, &mut audit).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => console_error(e).code,
            };
            state
                .metrics
                .observe("FederationGetSigninToken", outcome, started.elapsed());
            audit.emit(
                &rid,
                "FederationGetSigninToken",
                outcome,
                &source_ip(&req),
                None,
            );
            match result {
                Ok(token) => secured(HttpResponse::Ok(), &state)
                    .content_type("application/json")
                    .body(serde_json::json!({ "SigninToken": token }).to_string()),
                Err(e) => json_error(&state, &e, &rid),
            }
        }
        "login" => {
            let result = federation_login(&req, &state, &mut audit).await;
            finish(
                &state,
                &req,
                "FederationLogin",
                &rid,
                &audit,
                result,
                started,
            )
        }
        _ => json_error(
            &state,
            &ConsoleError::BadRequest("Action must be getSigninToken or login".into()),
            &rid,
        ),
    }
}

async fn get_signin_token(
    req: &HttpRequest,
    state: &AppState,
    audit: &mut Audit,
) -> Result<String, ConsoleError> {
    let now = epoch(state.clock.now());
    let raw = query(req, "Session")
        .ok_or_else(|| ConsoleError::BadRequest("The Session parameter is missing".into()))?;
    let s: FederationSession = serde_json::from_str(&raw).map_err(|_| {
        ConsoleError::BadRequest(
            "Session must be JSON with sessionId, sessionKey and sessionToken".into(),
        )
    })?;
    let duration = match query(req, "SessionDuration") {
        None => None,
        Some(d) => Some(
            d.parse::<u64>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or_else(|| {
                    ConsoleError::BadRequest("SessionDuration must be 900 to 43200 seconds".into())
                })?,
        ),
    };
    let session = console::check_credentials(
        state.store.as_ref(),
        &state.keys,
        &s.session_id,
        Some(&s.session_key),
        &s.session_token,
        now,
    )
    .await?;
    audit.caller = Some(session.principal.arn.clone());
    audit.access_key_id = Some(s.session_id.clone());
    let exp = match duration {
        Some(d) => (now + d).min(session.expires_at),
        None => session.expires_at,
    };
    let token = SigninToken {
        id: random_hex(16)?,
        iat: now,
        akid: s.session_id,
        token: s.session_token,
        exp,
    };
    Ok(state
        .config
        .console
        .sealer
        .seal(Purpose::SigninToken, &token)?)
}

async fn federation_login(
    req: &HttpRequest,
    state: &AppState,
    audit: &mut Audit,
) -> Result<HttpResponse, ConsoleError> {
    let now = epoch(state.clock.now());
    let dest = query(req, "Destination")
        .ok_or_else(|| ConsoleError::BadRequest("The Destination parameter is missing".into()))?;
    let dest = destination(state, Some(&dest))?.unwrap_or_else(|| state.config.console.landing());
    let issuer = query(req, "Issuer").filter(|i| console::origin_of(i).is_some());
    let invalid =
        || ConsoleError::SigninToken("The sign-in token is invalid, used or expired".into());
    let t: SigninToken = query(req, "SigninToken")
        .and_then(|t| state.config.console.sealer.open(Purpose::SigninToken, &t))
        .ok_or_else(invalid)?;
    let until = t.iat + console::SIGNIN_TOKEN_TTL;
    if until <= now {
        return Err(invalid());
    }
    match state.store.use_once("signin", &t.id, until, now).await {
        Ok(()) => {}
        Err(idbroker_session::SessionError::Replay | idbroker_session::SessionError::Expired) => {
            return Err(invalid())
        }
        Err(_) => return Err(ConsoleError::Unavailable),
    }
    let session = console::check_credentials(
        state.store.as_ref(),
        &state.keys,
        &t.akid,
        None,
        &t.token,
        now,
    )
    .await?;
    audit.caller = Some(session.principal.arn.clone());
    audit.access_key_id = Some(t.akid.clone());
    audit.target = Some(dest.clone());
    let exp = t.exp.min(session.expires_at);
    let cs = ConsoleSession {
        akid: t.akid,
        token: t.token,
        exp,
        csrf: random_hex(16)?,
        issuer,
    };
    let sealed = state.config.console.sealer.seal(Purpose::Console, &cs)?;
    Ok(secured(HttpResponse::Found(), state)
        .insert_header((header::LOCATION, dest))
        .cookie(cookie(
            state,
            CONSOLE_COOKIE,
            sealed,
            "/",
            exp.saturating_sub(now),
        ))
        .finish())
}
