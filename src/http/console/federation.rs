//! `GET /federation`: AWS's federation endpoint. `getSigninToken` turns a role session's
//! credentials into a short-lived, single-use sign-in token; `login` turns that token into a
//! console session and sends the browser to its destination.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use super::{cookie, destination, finish, query, secured, CONSOLE_COOKIE};
use crate::clock::epoch;
use crate::console::federation::{self, FederationSession};
use crate::console::{self, ConsoleError};
use crate::http::audit::{Outcome, Who};
use crate::http::error::console_error;
use crate::http::Call;
use crate::state::AppState;

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
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn federation(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut call = Call::start(&req);
    let action = query(&req, "Action").unwrap_or_default();
    match action.as_str() {
        "getSigninToken" => {
            let result = get_signin_token(&req, &state, &mut call).await;
            let page = result.as_ref().err().map(console_error);
            let outcome = Outcome::failed(page.as_ref().map(|p| (p.code, p.detail.as_str())));
            call.end(&state, &req, "FederationGetSigninToken", outcome, None);
            match result {
                Ok(token) => secured(HttpResponse::Ok(), &state)
                    .content_type("application/json")
                    .body(serde_json::json!({ "SigninToken": token }).to_string()),
                Err(e) => json_error(&state, &e, &call.request_id),
            }
        }
        "login" => {
            let result = federation_login(&req, &state, &mut call).await;
            finish(&state, &req, "FederationLogin", &call, result)
        }
        _ => json_error(
            &state,
            &ConsoleError::BadRequest("Action must be getSigninToken or login".into()),
            &call.request_id,
        ),
    }
}

async fn get_signin_token(
    req: &HttpRequest,
    state: &AppState,
    call: &mut Call,
) -> Result<String, ConsoleError> {
    crate::http::throttle::by_source(state, req, "FederationGetSigninToken", state.clock.now())
        .await?;
    let raw = query(req, "Session")
        .ok_or_else(|| ConsoleError::BadRequest("The Session parameter is missing".into()))?;
    let creds = FederationSession::from_json(&raw)?;
    let duration = federation::session_duration(query(req, "SessionDuration").as_deref())?;
    let now = state.clock.now();
    let issued = federation::get_signin_token(
        &state.sts(&state.directory()),
        &state.config.console,
        creds,
        duration,
        now,
    )
    .await?;
    call.audit.who = Who::Session(Box::new(issued.session));
    Ok(issued.token)
}

async fn federation_login(
    req: &HttpRequest,
    state: &AppState,
    call: &mut Call,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.clock.now();
    crate::http::throttle::by_source(state, req, "FederationLogin", now).await?;
    let dest = query(req, "Destination")
        .ok_or_else(|| ConsoleError::BadRequest("The Destination parameter is missing".into()))?;
    let dest = destination(state, Some(&dest))?.unwrap_or_else(|| state.config.console.landing());
    let issuer = query(req, "Issuer").filter(|i| console::origin_of(i).is_some());
    let token = query(req, "SigninToken");
    let done = federation::login(
        &state.sts(&state.directory()),
        &state.config.console,
        token.as_deref(),
        issuer,
        now,
    )
    .await?;
    call.audit.login_to = Some(dest.clone());
    let resp = secured(HttpResponse::Found(), state)
        .insert_header((header::LOCATION, dest))
        .cookie(cookie(
            state,
            CONSOLE_COOKIE,
            done.cookie,
            "/",
            done.exp.saturating_sub(epoch(now)),
        ))
        .finish();
    call.audit.who = Who::Session(Box::new(done.session));
    Ok(resp)
}
