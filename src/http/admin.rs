//! `POST /admin/revoke`: the admin API. A JSON body naming what to revoke, signed with SigV4 for
//! the service `idbroker` by an idbroker identity (long-term or temporary credentials) whose
//! policies allow the `idbroker:Revoke*` action (see `crate::admin`). Answers JSON, errors too.

use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::admin::{self, Revocation, Revoked};
use crate::http::audit::{Answer, Asked, Outcome, Who};
use crate::http::error::{ApiError, JsonError};
use crate::http::{auth, facts, Call};
use crate::state::AppState;

/// The SigV4 service name of the admin API.
pub use crate::admin::SERVICE;

/// `POST /admin/revoke`.
#[instrument(skip_all, fields(action, request_id, otel.kind = tracing::field::Empty))]
pub async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let mut call = Call::start(&req);
    let (what, mut unreadable) = match Revocation::from_json(&body) {
        Ok(w) => (Some(w), None),
        Err(e) => (None, Some(e)),
    };
    let action = what.as_ref().map_or("Revoke", Revocation::action);
    tracing::Span::current().record("action", action);
    let result = async {
        let now = state.clock.now();
        let caller = auth::authenticate_for(SERVICE, &req, &body, &state, now).await?;
        // After the signature verified: the caller's own bucket (crate::throttle).
        let admitted = crate::http::throttle::by_principal(&state, &caller, "Admin", now).await;
        let done = match (admitted, &what, unreadable.take()) {
            (Err(throttled), _, _) => Err(ApiError::from(throttled)),
            (Ok(()), Some(what), _) => {
                let dir = &state.config.directory;
                let facts = facts(&req, &state, now);
                admin::revoke(dir, state.store.as_ref(), &caller, what, &facts)
                    .await
                    .map_err(ApiError::from)
            }
            (Ok(()), None, e) => Err(e.map_or_else(
                || ApiError::new("ValidationError", 400, "The request body is not readable"),
                ApiError::from,
            )),
        };
        call.audit.who = Who::Signed(caller);
        let done = done?;
        let resp = render(&done, &call.request_id);
        call.audit.answer = Answer::Revoked(done);
        Ok::<_, ApiError>(resp)
    }
    .await;
    if let Some(what) = what {
        call.audit.asked = Asked::Revocation(what);
    }
    call.end(&state, &req, action, Outcome::of(&result), None);
    result.map_err(|e| JsonError(e.with_request_id(&call.request_id)))
}

fn render(done: &Revoked, request_id: &str) -> HttpResponse {
    let mut doc = serde_json::Map::new();
    doc.insert("Action".into(), done.action.as_str().into());
    doc.insert("Resource".into(), done.resource.as_str().into());
    if let Some(id) = &done.access_key_id {
        doc.insert("AccessKeyId".into(), id.as_str().into());
    }
    if let Some(t) = done.revoked_before {
        doc.insert("RevokedBefore".into(), crate::clock::iso8601(t).into());
    }
    doc.insert("RequestId".into(), request_id.into());
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("x-amzn-RequestId", request_id.to_owned()))
        .body(serde_json::Value::Object(doc).to_string())
}
