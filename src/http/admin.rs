//! `POST /admin/revoke`: the admin API. A JSON body naming what to revoke, signed with SigV4 for
//! the service `idbroker` by an idbroker identity (long-term or temporary credentials) whose
//! policies allow the `idbroker:Revoke*` action (see `crate::admin`). Answers JSON, errors too.

use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::admin::{self, Revocation, Revoked};
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
    let what = Revocation::from_json(&body);
    let action = what.as_ref().map_or("Revoke", Revocation::action);
    tracing::Span::current().record("action", action);
    let result = async {
        let now = state.clock.now();
        let caller = auth::authenticate_for(SERVICE, &req, &body, &state, now).await?;
        call.audit.caller = Some(caller.arn.clone());
        let what = what?;
        let dir = &state.config.directory;
        let facts = facts(&req, &state, now);
        let done = admin::revoke(dir, state.store.as_ref(), &caller, &what, &facts).await?;
        call.audit.target = Some(done.resource.clone());
        call.audit.access_key_id.clone_from(&done.access_key_id);
        Ok::<_, ApiError>(render(&done, &call.request_id))
    }
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code,
    };
    call.end(&state, &req, action, outcome, None);
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
