//! The signed-in browser: the landing page (who you are, credentials for the CLI) and sign-out
//! (the session revoked, the cookie forgotten).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use super::{
    error_page, finish, form, html, page, pages, removal, request_id, secured, CONSOLE_COOKIE,
};
use crate::clock::epoch;
use crate::console::seal::{self, Purpose};
use crate::console::{self, ConsoleError, ConsoleSession};
use crate::http::audit::Who;
use crate::http::Call;
use crate::state::AppState;

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
pub(super) async fn landing(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
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
    let session = match console::check_session(
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
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub(super) async fn signout(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let result: Result<HttpResponse, ConsoleError> = async {
        let done = secured(HttpResponse::SeeOther(), &state)
            .insert_header((header::LOCATION, "/console"))
            .cookie(removal(&state, CONSOLE_COOKIE, "/"))
            .finish();
        let Some(cs) = console_session(&req, &state) else {
            return Ok(done);
        };
        let csrf = form(&body, "csrf").unwrap_or_default();
        if !seal::same(&csrf, &cs.csrf) {
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
        call.audit.who = Who::Key(cs.akid);
        Ok(done)
    }
    .await;
    finish(&state, &req, "ConsoleSignOut", &call, result)
}
