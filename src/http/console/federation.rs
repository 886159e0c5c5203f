//! `GET /federation`: AWS's federation endpoint. `getSigninToken` turns a role session's
//! credentials into a short-lived, single-use sign-in token; `login` turns that token into a
//! console session and sends the browser to its destination.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use super::{cookie, destination, finish, query, secured, CONSOLE_COOKIE};
use crate::clock::epoch;
use crate::console::seal::{random_hex, Purpose};
use crate::console::{self, ConsoleError, ConsoleSession, SigninToken};
use crate::http::error::console_error;
use crate::http::Call;
use crate::state::AppState;

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
pub(super) async fn federation(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut call = Call::start();
    let action = query(&req, "Action").unwrap_or_default();
    match action.as_str() {
        "getSigninToken" => {
            let result = get_signin_token(&req, &state, &mut call).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => console_error(e).code,
            };
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
    call.audit.caller = Some(session.principal.arn.clone());
    call.audit.access_key_id = Some(s.session_id.clone());
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
    call: &mut Call,
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
    call.audit.caller = Some(session.principal.arn.clone());
    call.audit.access_key_id = Some(t.akid.clone());
    call.audit.target = Some(dest.clone());
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
