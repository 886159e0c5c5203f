//! Signing in: the SAML ACS (IdP- or SP-initiated), SP-initiated SAML and OIDC login starts,
//! the OIDC callback, and the role picker. Each reads the request, calls one use case of
//! [`crate::console::signin`], and answers with a redirect and its cookies.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use super::{
    cookie, destination, error_page, finish, form, page, pages, query, removal, request_id,
    secured, CONSOLE_COOKIE, OIDC_COOKIE, PICK_COOKIE,
};
use crate::clock::epoch;
use crate::console::cli_flow::{self, CliFlow};
use crate::console::oidc_login::LoginState;
use crate::console::seal::Purpose;
use crate::console::signin::{self, Next, OidcCallback, SignIn, Started};
use crate::console::{self, ConsoleError, PendingSignin};
use crate::http::audit::Who;
use crate::http::Call;
use crate::state::AppState;

/// The sign-in is decided: for a command-line sign-in (`cli`), its result goes back to the
/// CLI; otherwise one role signs in at once (its console cookie), several go to the picker
/// (the pending sign-in's cookie).
async fn signed_in(
    state: &AppState,
    sign_in: SignIn,
    to: Option<String>,
    cli: Option<CliFlow>,
    call: &mut Call,
    now: std::time::SystemTime,
) -> Result<HttpResponse, ConsoleError> {
    call.audit.who = via(&sign_in.via);
    if let Some(flow) = cli {
        return super::cli::signed_in(state, flow, sign_in, call, now).await;
    }
    match signin::proceed(
        &state.sts(&state.directory()),
        &state.config.console,
        sign_in,
        to.clone(),
        now,
    )
    .await?
    {
        Next::Started(started) => Ok(console_started(state, *started, to, None, call, now)),
        Next::Pick(sealed) => Ok(secured(HttpResponse::SeeOther(), state)
            .insert_header((header::LOCATION, "/console/roles"))
            .cookie(cookie(
                state,
                PICK_COOKIE,
                sealed,
                "/console",
                console::PICK_TTL,
            ))
            .finish()),
    }
}

/// Who signed in, for the audit record: a SAML or an OIDC identity (named by the provider's
/// ARN: the console does not keep the assertion's NameQualifier or the token's audience).
pub(super) fn via(v: &console::SignedInVia) -> Who {
    if v.provider.contains(":oidc-provider/") {
        Who::WebIdentity {
            provider: v.provider.clone(),
            audience: None,
            subject: v.subject.clone(),
        }
    } else {
        Who::Saml {
            provider: v.provider.clone(),
            name_qualifier: None,
            subject: v.subject.clone(),
        }
    }
}

/// A console session started: its cookie, and on to `to` (or the landing page).
pub(super) fn console_started(
    state: &AppState,
    started: Started,
    to: Option<String>,
    clear: Option<&'static str>,
    call: &mut Call,
    now: std::time::SystemTime,
) -> HttpResponse {
    let target = to.unwrap_or_else(|| state.config.console.landing());
    call.audit.login_to = Some(target.clone());
    let mut b = secured(HttpResponse::SeeOther(), state);
    b.insert_header((header::LOCATION, target)).cookie(cookie(
        state,
        CONSOLE_COOKIE,
        started.cookie,
        "/",
        started.exp.saturating_sub(epoch(now)),
    ));
    if let Some(name) = clear {
        b.cookie(removal(state, name, "/console"));
    }
    call.audit.issued(started.session);
    b.finish()
}

/// `POST /saml/acs`: a SAML response, IdP-initiated or answering an AuthnRequest of ours.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn saml_acs(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let result = async {
        crate::http::throttle::by_source(&state, &req, "ConsoleSignInSAML", state.clock.now())
            .await?;
        let encoded = form(&body, "SAMLResponse")
            .ok_or_else(|| ConsoleError::BadRequest("The request has no SAMLResponse".into()))?;
        let now = state.clock.now();
        let relay = form(&body, "RelayState");
        // A RelayState naming a command-line sign-in: its flow, from this browser's cookie.
        let (to, cli) = match cli_flow::marked(relay.as_deref()) {
            Some(id) => (None, Some(super::cli::flow(&state, &req, id, epoch(now))?)),
            None => (destination(&state, relay.as_deref())?, None),
        };
        let duration = super::cli::duration(&state, cli.as_ref());
        let facts = crate::http::facts(&req, &state, now);
        let sign_in = signin::saml_sign_in(
            &state.sts(&state.directory()),
            &state.config.console,
            &encoded,
            &facts,
            duration,
        )
        .await?;
        signed_in(&state, sign_in, to, cli, &mut call, now).await
    }
    .await;
    finish(&state, &req, "ConsoleSignInSAML", &call, result)
}

/// The IdP URL that starts an SP-initiated sign-in with SAML provider `name`, carrying `relay`.
pub(super) fn saml_redirect(
    state: &AppState,
    name: &str,
    relay: Option<&str>,
) -> Result<String, ConsoleError> {
    let provider = state
        .config
        .saml
        .providers()
        .find(|p| p.name == name)
        .ok_or_else(|| ConsoleError::BadRequest(format!("No identity provider {name:?}")))?;
    console::saml_sp::authn_request_url(
        &state.config.console.sealer,
        &state.config.saml,
        provider,
        relay,
        state.config.console.sign_authn_requests,
        state.clock.now(),
    )
}

/// The IdP URL that starts an OIDC login with provider `name` (its `[oidc_providers.login]`
/// name), going to `to` afterwards, and the sealed login state for its cookie.
pub(super) async fn oidc_redirect(
    state: &AppState,
    name: &str,
    to: Option<String>,
) -> Result<(String, String), ConsoleError> {
    let login = state
        .config
        .console
        .oidc_login(name)
        .ok_or_else(|| ConsoleError::BadRequest(format!("No identity provider {name:?}")))?;
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
    Ok((url, sealed))
}

/// `GET /console/saml/login?provider=NAME[&to=...]`: SP-initiated sign-in.
pub(super) async fn saml_login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let run = || -> Result<HttpResponse, ConsoleError> {
        let name = query(&req, "provider").ok_or_else(|| {
            ConsoleError::BadRequest("Which identity provider? (provider=)".into())
        })?;
        let to = query(&req, "to");
        destination(&state, to.as_deref())?;
        // RelayState is at most 80 bytes (SAML bindings 3.4.3): a longer target is dropped.
        let relay = to.filter(|t| t.len() <= 80);
        let url = saml_redirect(&state, &name, relay.as_deref())?;
        Ok(secured(HttpResponse::Found(), &state)
            .insert_header((header::LOCATION, url))
            .finish())
    };
    run().unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// `GET /console/oidc/login?provider=NAME[&to=...]`: the authorization code flow starts.
pub(super) async fn oidc_login(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let result: Result<HttpResponse, ConsoleError> = async {
        let name = query(&req, "provider").ok_or_else(|| {
            ConsoleError::BadRequest("Which identity provider? (provider=)".into())
        })?;
        let to = destination(&state, query(&req, "to").as_deref())?;
        let (url, sealed) = oidc_redirect(&state, &name, to).await?;
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
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn oidc_callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut call = Call::start(&req);
    let result = async {
        crate::http::throttle::by_source(&state, &req, "ConsoleSignInOIDC", state.clock.now())
            .await?;
        let login: Option<LoginState> = req.cookie(OIDC_COOKIE).and_then(|c| {
            state
                .config
                .console
                .sealer
                .open(Purpose::OidcLogin, c.value())
        });
        let (returned, code, error, description) = (
            query(&req, "state").unwrap_or_default(),
            query(&req, "code"),
            query(&req, "error"),
            query(&req, "error_description"),
        );
        let callback = OidcCallback {
            state: &returned,
            code: code.as_deref(),
            error: error.as_deref(),
            error_description: description.as_deref(),
        };
        let now = state.clock.now();
        // A login started for a command-line sign-in names its flow as its destination.
        let marked = login
            .as_ref()
            .and_then(|l| cli_flow::marked(l.to.as_deref()));
        let cli = match marked {
            Some(id) => Some(super::cli::flow(&state, &req, id, epoch(now))?),
            None => None,
        };
        let duration = super::cli::duration(&state, cli.as_ref());
        let facts = crate::http::facts(&req, &state, now);
        let (sign_in, to) = signin::oidc_sign_in(
            &state.sts(&state.directory()),
            &state.config.console,
            &state.console_logins,
            login.as_ref(),
            callback,
            &facts,
            duration,
        )
        .await?;
        let to = if cli.is_some() { None } else { to };
        signed_in(&state, sign_in, to, cli, &mut call, now).await
    }
    .await;
    let mut resp = finish(&state, &req, "ConsoleSignInOIDC", &call, result);
    // The login state is used once, whatever the outcome.
    let _ = resp.add_cookie(&removal(&state, OIDC_COOKIE, "/console/oidc"));
    resp
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
pub(super) async fn picker(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let now = epoch(state.clock.now());
    match pending(&req, &state, now) {
        Some(p) => page(
            StatusCode::OK,
            &state,
            pages::picker(&p, &state.directory(), &rid),
        ),
        None => error_page(
            &state,
            &ConsoleError::Csrf("There is no sign-in waiting for a role choice.".into()),
            &rid,
        ),
    }
}

/// `POST /console/roles`: the choice.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn pick(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let result = async {
        let now = state.clock.now();
        crate::http::throttle::by_source(&state, &req, "ConsolePickRole", now).await?;
        let p = pending(&req, &state, epoch(now)).ok_or_else(|| {
            ConsoleError::Csrf("This role choice has expired or was already made.".into())
        })?;
        call.audit.who = via(&p.via);
        let csrf = form(&body, "csrf").unwrap_or_default();
        let role = form(&body, "role");
        let started = signin::pick(
            &state.sts(&state.directory()),
            &state.config.console,
            &p,
            &csrf,
            role.as_deref(),
            now,
        )
        .await?;
        Ok(console_started(
            &state,
            started,
            p.to.clone(),
            Some(PICK_COOKIE),
            &mut call,
            now,
        ))
    }
    .await;
    finish(&state, &req, "ConsolePickRole", &call, result)
}
