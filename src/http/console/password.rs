//! IAM users' console sign-in: the password form, the MFA code form, the new-password form.
//! Each handler reads the form, takes the throttling buckets, calls one step of
//! [`crate::password_signin`], and answers the next form, the console, or the same form with
//! why it came back. Every POST is audited (the typed account and user name, never a password
//! or a code).
//!
//! Buckets (action `ConsoleSignInPassword`, shared by the three steps): the source address, and
//! the typed account (an alias read as its account id) and user name, lower-cased, whether or
//! not they exist (so that throttling says nothing of who does). Both are taken before the
//! password or the code is checked.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;
use zeroize::Zeroizing;

use super::signin::console_started;
use super::{
    cookie, error_page, form, page, pages, removal, request_id, secured, PASSWORD_COOKIE,
    PASSWORD_FORM_COOKIE,
};
use crate::clock::epoch;
use crate::console::seal::{self, Purpose};
use crate::console::ConsoleError;
use crate::http::audit::{Asked, Outcome};
use crate::http::error::console_error;
use crate::http::Call;
use crate::password_signin::{
    self as password, Credentials, Next, PasswordForm, PasswordPending, MAX_NAME_BYTES, PENDING_TTL,
};
use crate::state::AppState;
use crate::throttle::{Key, PASSWORD_SIGNIN};

/// Where the form's cookie is sent.
const COOKIE_PATH: &str = "/console/signin";
/// Where the pending sign-in's cookie is sent (the console's: it is removed when the console
/// session starts).
const PENDING_PATH: &str = "/console";

/// A typed field: trimmed, at most `max` bytes (longer: cut at a character boundary).
fn field(body: &[u8], name: &str, max: usize) -> String {
    let mut v = form(body, name).unwrap_or_default();
    if v.len() > max {
        let mut end = max;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        v.truncate(end);
    }
    v.trim().to_owned()
}

/// Take the address's and the typed user's buckets, both or neither (one store round trip).
async fn throttle(
    state: &AppState,
    req: &HttpRequest,
    account: &str,
    user: &str,
    now: std::time::SystemTime,
) -> Result<(), ConsoleError> {
    let user_key = password::bucket_key(state.directory().doc(), account, user);
    let mut keys = vec![Key::Principal(&user_key)];
    // No peer address (a test harness, a Unix socket): nothing to key that bucket on.
    if let Some(addr) = req.peer_addr() {
        keys.push(Key::Source(addr.ip()));
    }
    state.throttle().admit(PASSWORD_SIGNIN, &keys, now).await?;
    Ok(())
}

/// A later step (MFA code, new password): its call, audited with the pending sign-in's account
/// and user, and the pending sign-in from the browser's cookie.
fn later_step(req: &HttpRequest, state: &AppState) -> (Call, Option<PasswordPending>) {
    let mut call = Call::start(req);
    let pending = pending_of(req, state);
    if let Some(p) = &pending {
        call.audit.asked = Asked::SignIn {
            account: p.account.clone(),
            user_name: p.user.clone(),
        };
    }
    (call, pending)
}

/// The pending sign-in a later step needs, once the user's and the address's buckets allow it.
async fn pending_allowed(
    state: &AppState,
    req: &HttpRequest,
    pending: Option<PasswordPending>,
    now: std::time::SystemTime,
) -> Result<PasswordPending, ConsoleError> {
    let p = pending
        .ok_or_else(|| ConsoleError::Csrf("This sign-in took too long. Start again.".into()))?;
    throttle(state, req, &p.account, &p.user, now).await?;
    Ok(p)
}

/// Write the audit record of a step and answer: the response, the same form again (wrong
/// password or code, refused new password: `again`), or the error page.
fn finish(
    state: &AppState,
    req: &HttpRequest,
    action: &'static str,
    call: &Call,
    result: Result<HttpResponse, ConsoleError>,
    again: impl FnOnce(&ConsoleError, &str) -> Option<HttpResponse>,
) -> HttpResponse {
    let shown = result.as_ref().err().map(console_error);
    let outcome = Outcome::failed(shown.as_ref().map(|p| (p.code, p.detail.as_str())));
    call.end(state, req, action, outcome, None);
    match result {
        Ok(r) => r,
        Err(e) => {
            again(&e, &call.request_id).unwrap_or_else(|| error_page(state, &e, &call.request_id))
        }
    }
}

fn pending_of(req: &HttpRequest, state: &AppState) -> Option<PasswordPending> {
    req.cookie(PASSWORD_COOKIE).and_then(|c| {
        state
            .config
            .console
            .sealer
            .open::<PasswordPending>(Purpose::PasswordPending, c.value())
    })
}

/// The password form, with a fresh CSRF cookie.
fn password_form(
    state: &AppState,
    status: StatusCode,
    account: &str,
    user: &str,
    message: Option<&str>,
    rid: &str,
) -> Result<HttpResponse, ConsoleError> {
    let f = PasswordForm::new(epoch(state.clock.now()))?;
    let sealed = state
        .config
        .console
        .sealer
        .seal(Purpose::PasswordForm, &f)?;
    let mut resp = page(
        status,
        state,
        pages::password(account, user, &f.csrf, message, rid),
    );
    let _ = resp.add_cookie(&cookie(
        state,
        PASSWORD_FORM_COOKIE,
        sealed,
        COOKIE_PATH,
        password::FORM_TTL,
    ));
    Ok(resp)
}

/// `GET /console/signin/password`
pub(super) async fn password_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    let account = super::query(&req, "account").unwrap_or_default();
    let account: String = account.chars().take(MAX_NAME_BYTES).collect();
    password_form(&state, StatusCode::OK, &account, "", None, &rid)
        .unwrap_or_else(|e| error_page(&state, &e, &rid))
}

/// Answer a step's [`Next`]: the next form's page, or the console.
fn proceed(
    state: &AppState,
    next: Next,
    call: &mut Call,
    now: std::time::SystemTime,
) -> HttpResponse {
    let (to, sealed) = match next {
        Next::Started(started) => {
            return console_started(state, *started, None, Some(PASSWORD_COOKIE), call, now)
        }
        Next::Mfa(sealed) => ("/console/signin/mfa", sealed),
        Next::Change(sealed) => ("/console/signin/change", sealed),
    };
    secured(HttpResponse::SeeOther(), state)
        .insert_header((header::LOCATION, to))
        .cookie(cookie(
            state,
            PASSWORD_COOKIE,
            sealed,
            PENDING_PATH,
            PENDING_TTL,
        ))
        .finish()
}

/// `POST /console/signin/password`: account, user name, password.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn password_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let account = field(&body, "account", MAX_NAME_BYTES);
    let user = field(&body, "username", MAX_NAME_BYTES);
    call.audit.asked = Asked::SignIn {
        account: account.clone(),
        user_name: user.clone(),
    };
    let result = async {
        let now = state.clock.now();
        throttle(&state, &req, &account, &user, now).await?;
        let expired = || ConsoleError::Csrf("This form has expired. Open the page again.".into());
        let f = req
            .cookie(PASSWORD_FORM_COOKIE)
            .and_then(|c| {
                state
                    .config
                    .console
                    .sealer
                    .open::<PasswordForm>(Purpose::PasswordForm, c.value())
            })
            .filter(|f| epoch(now) < f.exp)
            .ok_or_else(expired)?;
        if !seal::same(&form(&body, "csrf").unwrap_or_default(), &f.csrf) {
            return Err(expired());
        }
        let creds = Credentials {
            account: &account,
            user: &user,
            password: Zeroizing::new(form(&body, "password").unwrap_or_default()),
        };
        let dir = state.directory();
        let next = password::sign_in(
            &state.sts(&dir),
            &state.config.console,
            &state.directory_service,
            &state.passwords,
            creds,
            now,
        )
        .await?;
        Ok(proceed(&state, next, &mut call, now))
    }
    .await;
    finish(
        &state,
        &req,
        "ConsoleSignInPassword",
        &call,
        result,
        |e, rid| match e {
            ConsoleError::Credentials | ConsoleError::Csrf(_) => password_form(
                &state,
                StatusCode::UNAUTHORIZED,
                &account,
                &user,
                Some(&e.to_string()),
                rid,
            )
            .ok(),
            _ => None,
        },
    )
}

/// The MFA form of `p` (a new CSRF token: the pending sign-in is sealed again).
fn mfa_form(
    state: &AppState,
    status: StatusCode,
    p: &PasswordPending,
    message: Option<&str>,
    rid: &str,
) -> HttpResponse {
    page(
        status,
        state,
        pages::password_mfa(&p.account, &p.user, &p.id, message, rid),
    )
}

fn start_again(state: &AppState) -> HttpResponse {
    secured(HttpResponse::SeeOther(), state)
        .insert_header((header::LOCATION, "/console/signin/password"))
        .cookie(removal(state, PASSWORD_COOKIE, PENDING_PATH))
        .finish()
}

/// `GET /console/signin/mfa`
pub(super) async fn mfa_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    match pending_of(&req, &state).filter(|p| p.mfa && epoch(state.clock.now()) < p.exp) {
        Some(p) => mfa_form(&state, StatusCode::OK, &p, None, &rid),
        None => start_again(&state),
    }
}

/// `POST /console/signin/mfa`: the code.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn mfa_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut call, pending) = later_step(&req, &state);
    let shown = pending.clone();
    let result = async {
        let now = state.clock.now();
        let p = pending_allowed(&state, &req, pending, now).await?;
        let csrf = form(&body, "csrf").unwrap_or_default();
        let code = field(&body, "code", 16);
        let dir = state.directory();
        let next = password::mfa_step(
            &state.sts(&dir),
            &state.config.console,
            &state.directory_service,
            p,
            &csrf,
            &code,
            now,
        )
        .await?;
        Ok(proceed(&state, next, &mut call, now))
    }
    .await;
    finish(
        &state,
        &req,
        "ConsoleSignInMFA",
        &call,
        result,
        |e, rid| match (e, &shown) {
            (ConsoleError::MfaCode, Some(p)) => Some(mfa_form(
                &state,
                StatusCode::UNAUTHORIZED,
                p,
                Some(&e.to_string()),
                rid,
            )),
            _ => None,
        },
    )
}

/// The new-password form of `p`.
fn change_form(
    state: &AppState,
    status: StatusCode,
    p: &PasswordPending,
    message: Option<&str>,
    rid: &str,
) -> HttpResponse {
    let dir = state.directory();
    let policy = dir
        .doc()
        .account(&p.account)
        .and_then(|a| a.password_policy.as_ref());
    let rules = crate::password::policy::describe(policy);
    page(
        status,
        state,
        pages::password_change(
            &p.user,
            "your password must be changed before you sign in (it was reset, or it expired).",
            &rules,
            &p.id,
            message,
            rid,
        ),
    )
}

/// `GET /console/signin/change`
pub(super) async fn change_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rid = request_id();
    match pending_of(&req, &state)
        .filter(|p| !p.mfa && p.change && epoch(state.clock.now()) < p.exp)
    {
        Some(p) => change_form(&state, StatusCode::OK, &p, None, &rid),
        None => start_again(&state),
    }
}

/// `POST /console/signin/change`: the new password, twice.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn change_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut call, pending) = later_step(&req, &state);
    let shown = pending.clone();
    let result = async {
        let now = state.clock.now();
        let p = pending_allowed(&state, &req, pending, now).await?;
        let csrf = form(&body, "csrf").unwrap_or_default();
        let new = Zeroizing::new(form(&body, "new_password").unwrap_or_default());
        let confirm = Zeroizing::new(form(&body, "confirm_password").unwrap_or_default());
        let dir = state.directory();
        let facts = crate::http::facts(&req, &state, now);
        let started = password::change_step(
            &state.sts(&dir),
            &state.config.console,
            &state.directory_service,
            &state.passwords,
            p,
            &csrf,
            new,
            confirm,
            &facts,
        )
        .await?;
        Ok(proceed(
            &state,
            Next::Started(Box::new(started)),
            &mut call,
            now,
        ))
    }
    .await;
    finish(
        &state,
        &req,
        "ConsoleChangePassword",
        &call,
        result,
        |e, rid| match (e, &shown) {
            (ConsoleError::NewPassword(_), Some(p)) => Some(change_form(
                &state,
                StatusCode::BAD_REQUEST,
                p,
                Some(&e.to_string()),
                rid,
            )),
            _ => None,
        },
    )
}
