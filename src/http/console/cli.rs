//! Command-line sign-in (`idbroker login`): the browser's start of a loopback flow
//! (`GET /console/cli/start`), the device flow's pages (`GET`/`POST /console/device`), and the
//! CLI's own calls, answered in JSON as OAuth does (`POST /console/device/authorize`,
//! `POST /console/cli/token`, `POST /console/cli/credentials`). Each reads the request, calls
//! one use case of [`crate::console::cli_flow`] or [`crate::console::device`], and answers.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tracing::instrument;

use super::signin::{oidc_redirect, saml_redirect, via};
use super::{cookie, error_page, form, page, pages, query, removal, request_id, secured};
use super::{CLI_COOKIE, DEVICE_COOKIE, OIDC_COOKIE};
use crate::clock::epoch;
use crate::console::cli_flow::{self, Back, CliFlow, Granted, LoopbackRequest};
use crate::console::device::{self, DeviceForm};
use crate::console::seal::{self, Purpose};
use crate::console::signin::SignIn;
use crate::console::{CliError, ConsoleError};
use crate::http::audit::Outcome;
use crate::http::error::cli_error;
use crate::http::Call;
use crate::state::AppState;

/// The most a CLI call's form body may weigh.
const MAX_BODY: usize = 16 * 1024;

/// A console sign-in provider, by the name `?provider=` gives.
enum Provider {
    /// A SAML provider with an HTTP-Redirect sign-in endpoint.
    Saml(String),
    /// An OIDC provider's `[oidc_providers.login]`.
    Oidc(String),
}

impl Provider {
    fn name(&self) -> &str {
        match self {
            Provider::Saml(n) | Provider::Oidc(n) => n,
        }
    }
}

/// The provider named `name`, or when none is named, the only one there is.
fn provider(state: &AppState, name: Option<&str>) -> Result<Provider, ConsoleError> {
    let mut all: Vec<Provider> = state
        .config
        .saml
        .providers()
        .filter(|p| p.keys().sso_redirect_url.is_some())
        .map(|p| Provider::Saml(p.name.clone()))
        .collect();
    all.extend(
        state
            .config
            .console
            .oidc_logins
            .iter()
            .map(|l| Provider::Oidc(l.name.clone())),
    );
    let names = || {
        all.iter()
            .map(|p| p.name().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => {
            let found = all.iter().position(|p| p.name() == n);
            match found {
                Some(i) => Ok(all.swap_remove(i)),
                None => Err(ConsoleError::BadRequest(format!(
                    "No identity provider {n:?} for sign-in; there are: {}",
                    names()
                ))),
            }
        }
        None if all.len() == 1 => all.pop().ok_or(ConsoleError::Internal),
        None if all.is_empty() => Err(ConsoleError::BadRequest(
            "No identity provider is set up for sign-in".into(),
        )),
        None => Err(ConsoleError::BadRequest(format!(
            "Which identity provider? (provider=) There are: {}",
            names()
        ))),
    }
}

/// The flow sealed in this browser's `idb_cli` cookie, when it is flow `id` (named by the
/// sign-in's RelayState or OIDC destination) and not expired.
pub(super) fn flow(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    now: u64,
) -> Result<CliFlow, ConsoleError> {
    let c = req.cookie(CLI_COOKIE);
    cli_flow::open_flow(
        &state.config.console.sealer,
        c.as_ref().map(|c| c.value()),
        id,
        now,
    )
}

/// The session length a sign-in's roles are offered for: the CLI flow's, else the console's.
pub(super) fn duration(state: &AppState, cli: Option<&CliFlow>) -> u32 {
    cli.and_then(|f| f.secs)
        .unwrap_or(state.config.console.session_duration)
}

/// Where the provider's sign-in starts for `flow`, and the cookies the browser must hold on the
/// way: the flow sealed in `idb_cli` (named through the IdP round trip by its marker) and, for
/// OIDC, the login's state.
async fn provider_start(
    state: &AppState,
    provider: &Provider,
    flow: &CliFlow,
) -> Result<(String, Vec<Cookie<'static>>), ConsoleError> {
    let now = epoch(state.clock.now());
    let sealed = state.config.console.sealer.seal(Purpose::CliFlow, flow)?;
    let secs = flow.exp.saturating_sub(now);
    let mut cookies = vec![cookie(state, CLI_COOKIE, sealed, "/", secs)];
    let url = match provider {
        Provider::Saml(name) => saml_redirect(state, name, Some(&flow.marker()))?,
        Provider::Oidc(name) => {
            let (url, login) = oidc_redirect(state, name, Some(flow.marker())).await?;
            cookies.push(cookie(
                state,
                OIDC_COOKIE,
                login,
                "/console/oidc",
                crate::console::LOGIN_TTL,
            ));
            url
        }
    };
    Ok((url, cookies))
}

/// Off to the provider's sign-in (a redirect).
async fn to_provider(
    state: &AppState,
    provider: &Provider,
    flow: &CliFlow,
) -> Result<HttpResponse, ConsoleError> {
    let (url, cookies) = provider_start(state, provider, flow).await?;
    let mut b = secured(HttpResponse::Found(), state);
    b.insert_header((header::LOCATION, url));
    for c in cookies {
        b.cookie(c);
    }
    Ok(b.finish())
}

/// `GET /console/cli/start?provider=NAME&redirect_uri=URI&state=S&code_challenge=C&code_challenge_method=S256[&duration_seconds=N]`:
/// a loopback flow starts (RFC 8252); nothing is sent to a redirect URI that is not loopback.
pub(super) async fn start(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let result: Result<HttpResponse, ConsoleError> = async {
        let q = |name| query(&req, name);
        let (uri, st, chal, method) = (
            q("redirect_uri"),
            q("state"),
            q("code_challenge"),
            q("code_challenge_method"),
        );
        let back = cli_flow::loopback_back(LoopbackRequest {
            redirect_uri: uri.as_deref(),
            state: st.as_deref(),
            code_challenge: chal.as_deref(),
            code_challenge_method: method.as_deref(),
        })?;
        let secs = cli_flow::duration(q("duration_seconds").as_deref())?;
        let provider = provider(&state, q("provider").as_deref())?;
        let now = epoch(state.clock.now());
        let flow = CliFlow::new(provider.name(), secs, back, now)?;
        to_provider(&state, &provider, &flow).await
    }
    .await;
    result.unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// The person signed in for a CLI flow: a loopback flow's browser goes to the CLI's redirect
/// URI with a one-time code; a device flow's result is handed to the polling CLI and the
/// browser told to go back to the device.
pub(super) async fn signed_in(
    state: &AppState,
    flow: CliFlow,
    sign_in: SignIn,
    call: &mut Call,
    now: std::time::SystemTime,
) -> Result<HttpResponse, ConsoleError> {
    let now_s = epoch(now);
    match &flow.back {
        Back::Loopback { uri, .. } => {
            let sealer = &state.config.console.sealer;
            let url = cli_flow::loopback_answer(sealer, &flow.back, sign_in, now_s)?
                .ok_or(ConsoleError::Internal)?;
            call.audit.login_to = Some(uri.clone());
            Ok(secured(HttpResponse::SeeOther(), state)
                .insert_header((header::LOCATION, url))
                .cookie(removal(state, CLI_COOKIE, "/"))
                .finish())
        }
        Back::Device { id, user_code } => {
            device::approve(state.store.as_ref(), id, flow.exp, sign_in, now_s).await?;
            let mut resp = page(
                StatusCode::OK,
                state,
                pages::device_done(user_code, &call.request_id),
            );
            let _ = resp.add_cookie(&removal(state, CLI_COOKIE, "/"));
            Ok(resp)
        }
    }
}

/// `GET /console/device[?user_code=XXXX-XXXX]`: the page where a person enters the code their
/// device shows (its form's CSRF token in the sealed `idb_device` cookie).
pub(super) async fn entry(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let result: Result<HttpResponse, ConsoleError> = (|| {
        let form = DeviceForm::new(epoch(state.clock.now()))?;
        let sealed = state
            .config
            .console
            .sealer
            .seal(Purpose::DeviceForm, &form)?;
        let code = query(&req, "user_code")
            .and_then(|c| device::normalize(&c))
            .map(|c| device::display(&c))
            .unwrap_or_default();
        let mut resp = page(
            StatusCode::OK,
            &state,
            pages::device_entry(&code, &form.csrf, &rid),
        );
        let _ = resp.add_cookie(&cookie(
            &state,
            DEVICE_COOKIE,
            sealed,
            "/console/device",
            device::DEVICE_TTL,
        ));
        Ok(resp)
    })();
    result.unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// `POST /console/device`: the code entered. The device authorization it names becomes this
/// browser's CLI flow, and the person goes on to sign in at the flow's provider.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn enter(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let call = Call::start(&req);
    let result: Result<HttpResponse, ConsoleError> = async {
        let now = state.clock.now();
        crate::http::throttle::by_source(&state, &req, "ConsoleDeviceCode", now).await?;
        let expired = || ConsoleError::Csrf("This form has expired. Open the page again.".into());
        let form_state: DeviceForm = req
            .cookie(DEVICE_COOKIE)
            .and_then(|c| {
                state
                    .config
                    .console
                    .sealer
                    .open::<DeviceForm>(Purpose::DeviceForm, c.value())
            })
            .filter(|f| epoch(now) < f.exp)
            .ok_or_else(expired)?;
        let csrf = form(&body, "csrf").unwrap_or_default();
        if !seal::same(&csrf, &form_state.csrf) {
            return Err(expired());
        }
        let code = form(&body, "user_code").unwrap_or_default();
        let flow = device::enter(
            state.store.as_ref(),
            &state.config.console.sealer,
            &code,
            epoch(now),
        )
        .await?
        .ok_or_else(|| {
            ConsoleError::BadRequest(
                "That code is not valid, was already used, or has expired. Check the code your device shows, or start again there.".into(),
            )
        })?;
        let provider = provider(&state, Some(&flow.provider))?;
        // A page with a link, not a redirect: the console's CSP allows forms to post to
        // idbroker only (form-action), redirects after a post included.
        let (url, cookies) = provider_start(&state, &provider, &flow).await?;
        let code = match &flow.back {
            Back::Device { user_code, .. } => user_code.as_str(),
            Back::Loopback { .. } => "",
        };
        let mut resp = page(
            StatusCode::OK,
            &state,
            pages::device_go(code, provider.name(), &url, &call.request_id),
        );
        for c in cookies {
            let _ = resp.add_cookie(&c);
        }
        let _ = resp.add_cookie(&removal(&state, DEVICE_COOKIE, "/console/device"));
        Ok(resp)
    }
    .await;
    super::finish(&state, &req, "ConsoleDeviceCode", &call, result)
}

/// A CLI call's JSON answer, never cached.
fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .content_type("application/json")
        .body(body.to_string())
}

/// Count the call, write its audit record, answer its JSON or its OAuth error.
fn answer(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    call: &Call,
    result: Result<serde_json::Value, CliError>,
) -> HttpResponse {
    match result {
        Ok(body) => {
            call.end(state, req, action, Outcome::Ok, None);
            json(StatusCode::OK, &body)
        }
        Err(e) => {
            let b = cli_error(&e);
            call.end(
                state,
                req,
                action,
                Outcome::failed(Some((b.error, &b.description))),
                None,
            );
            if b.status >= 500 {
                tracing::warn!(request_id = %call.request_id, error = b.error, "cli call failed");
            }
            let status =
                StatusCode::from_u16(b.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json(
                status,
                &json!({"error": b.error, "error_description": b.description}),
            )
        }
    }
}

/// What every CLI call does first: the call's `now`, a request from the source address's
/// bucket, and its form body, bounded.
async fn admitted<'b>(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    body: &'b [u8],
) -> Result<(std::time::SystemTime, &'b [u8]), CliError> {
    let now = state.clock.now();
    crate::http::throttle::by_source(state, req, action, now).await?;
    if body.len() > MAX_BODY {
        return Err(CliError::InvalidRequest(
            "The request body is too large".into(),
        ));
    }
    Ok((now, body))
}

fn required(body: &[u8], name: &str) -> Result<String, CliError> {
    form(body, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CliError::InvalidRequest(format!("The request has no {name}")))
}

/// A ticket's JSON: the ticket and the roles it names.
fn granted_json(g: &Granted) -> serde_json::Value {
    let roles: Vec<serde_json::Value> = g
        .pending
        .options
        .iter()
        .map(|o| json!({"role_arn": o.role, "session_name": o.name, "duration_seconds": o.secs}))
        .collect();
    json!({
        "ticket": g.ticket,
        "expires_in": g.expires_in,
        "provider": g.pending.via.provider,
        "subject": g.pending.via.subject,
        "roles": roles,
    })
}

/// `POST /console/device/authorize` (RFC 8628 3.1): `[provider=NAME][&duration_seconds=N]`.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn device_authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let call = Call::start(&req);
    let result = async {
        let (now, body) = admitted(&state, &req, "DeviceAuthorization", &body).await?;
        let provider = provider(&state, form(body, "provider").as_deref())?;
        let secs = cli_flow::duration(form(body, "duration_seconds").as_deref())?;
        let auth = device::authorize(
            state.store.as_ref(),
            &state.config.console.sealer,
            provider.name(),
            secs,
            epoch(now),
        )
        .await?;
        let page = format!("{}/console/device", state.config.console.public_url);
        let complete = format!(
            "{page}?user_code={}",
            form_urlencoded::byte_serialize(auth.user_code.as_bytes()).collect::<String>()
        );
        Ok(json!({
            "device_code": auth.device_code,
            "user_code": auth.user_code,
            "verification_uri": page,
            "verification_uri_complete": complete,
            "expires_in": auth.expires_in,
            "interval": auth.interval,
        }))
    }
    .await;
    answer(&state, &req, "DeviceAuthorization", &call, result)
}

/// `POST /console/cli/token`: a loopback flow's code and PKCE verifier
/// (`grant_type=authorization_code`), or a device's poll
/// (`grant_type=urn:ietf:params:oauth:grant-type:device_code`), for a ticket.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let result = async {
        let (now, body) = admitted(&state, &req, "CliToken", &body).await?;
        let (store, sealer) = (state.store.as_ref(), &state.config.console.sealer);
        let grant = required(body, "grant_type")?;
        let granted = match grant.as_str() {
            "authorization_code" => {
                let code = required(body, "code")?;
                let verifier = required(body, "code_verifier")?;
                let uri = required(body, "redirect_uri")?;
                cli_flow::exchange_code(store, sealer, &code, &verifier, &uri, epoch(now)).await?
            }
            "urn:ietf:params:oauth:grant-type:device_code" => {
                let code = required(body, "device_code")?;
                device::poll(store, sealer, &code, epoch(now)).await?
            }
            other => {
                return Err(CliError::UnsupportedGrantType(format!(
                    "grant_type {:?} is not supported",
                    other.chars().take(100).collect::<String>()
                )))
            }
        };
        call.audit.who = via(&granted.pending.via);
        Ok(granted_json(&granted))
    }
    .await;
    answer(&state, &req, "CliToken", &call, result)
}

/// `POST /console/cli/credentials`: `ticket=T&role_arn=A`: the session of the chosen role,
/// in the shape of AWS's `credential_process` output.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn credentials(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let result = async {
        let (now, body) = admitted(&state, &req, "CliCredentials", &body).await?;
        let ticket = required(body, "ticket")?;
        let role = required(body, "role_arn")?;
        let directory = state.directory();
        let (signed_in, session) = cli_flow::redeem(
            &state.sts(&directory),
            &state.config.console.sealer,
            &ticket,
            &role,
            now,
        )
        .await?;
        call.audit.who = via(&signed_in);
        let c = &session.credentials;
        let body = json!({
            "Version": 1,
            "AccessKeyId": c.access_key_id(),
            "SecretAccessKey": c.secret_access_key(),
            "SessionToken": c.session_token(),
            "Expiration": crate::clock::iso8601(c.expiration()),
            "AssumedRoleArn": session.plan.arn,
        });
        call.audit.issued(session);
        Ok(body)
    }
    .await;
    answer(&state, &req, "CliCredentials", &call, result)
}
