//! The admin API: `POST /admin/revoke` and `POST /admin/sessions`. A JSON body, signed with SigV4
//! for the service `idbroker` by an idbroker identity (long-term or temporary credentials) whose
//! policies allow the `idbroker:*` action (see `crate::admin`). Answers JSON, errors too.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use tracing::instrument;

use crate::admin::{self, ListSessionsRequest, ListedSession, Revocation, Revoked, SessionListing};
use crate::http::audit::{Answer, Asked};
use crate::http::call::{signed_json_call, JsonCall};
use crate::http::error::{ApiError, JsonError};
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
    let what = Revocation::from_json(&body);
    let action = what.as_ref().map_or("Revoke", Revocation::action);
    let dir = state.directory();
    let store = state.store.as_ref();
    let (what, unreadable) = match what {
        Ok(w) => (Some(w), None),
        Err(e) => (None, Some(e)),
    };
    let asked = what.clone().map_or(Asked::Nothing, Asked::Revocation);
    signed_json_call(
        &req,
        &body,
        &state,
        &dir,
        JsonCall::admin(action),
        asked,
        async |caller, facts| {
            let what = match (&what, unreadable) {
                (Some(w), _) => w,
                (None, e) => {
                    return Err(e.map_or_else(
                        || {
                            ApiError::new(
                                "ValidationError",
                                400,
                                "The request body is not readable",
                            )
                        },
                        ApiError::from,
                    ))
                }
            };
            let done = admin::revoke(&dir, store, caller, what, facts).await?;
            let doc = render_revoked(&done);
            Ok((doc, Answer::Revoked(done)))
        },
    )
    .await
}

/// `POST /admin/sessions`: a page of the live sessions of a role, a principal or a source
/// identity. Identifiers only: no secret, session token or sealed secret is ever in the answer.
#[instrument(skip_all, fields(action, request_id, otel.kind = tracing::field::Empty))]
pub async fn sessions(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let request = ListSessionsRequest::from_json(&body);
    let dir = state.directory();
    let store = state.store.as_ref();
    let asked = request
        .as_ref()
        .map_or(Asked::Nothing, |r| Asked::Listing(r.clone()));
    signed_json_call(
        &req,
        &body,
        &state,
        &dir,
        JsonCall::admin("ListSessions"),
        asked,
        async |caller, facts| {
            let listing = admin::list_sessions(&dir, store, caller, &request?, facts).await?;
            let doc = render_listing(&listing);
            let answer = Answer::Listed {
                resource: listing.resource,
                count: listing.sessions.len(),
                more: listing.marker.is_some(),
            };
            Ok((doc, answer))
        },
    )
    .await
}

fn render_revoked(done: &Revoked) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("Action".into(), done.action.as_str().into());
    doc.insert("Resource".into(), done.resource.as_str().into());
    if let Some(id) = &done.access_key_id {
        doc.insert("AccessKeyId".into(), id.as_str().into());
    }
    if let Some(t) = done.revoked_before {
        doc.insert("RevokedBefore".into(), crate::clock::iso8601(t).into());
    }
    doc
}

/// `{"Action", "Resource", "Sessions": [...], "Marker"}` (`Marker` only when a page follows).
fn render_listing(listing: &SessionListing) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("Action".into(), listing.action.into());
    doc.insert("Resource".into(), listing.resource.as_str().into());
    let sessions = listing.sessions.iter().map(render_session).collect();
    doc.insert("Sessions".into(), Value::Array(sessions));
    if let Some(m) = &listing.marker {
        doc.insert("Marker".into(), m.as_str().into());
    }
    doc
}

/// One session, identifiers and times only; absent fields are left out.
fn render_session(s: &ListedSession) -> Value {
    let mut doc = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            doc.insert(k.into(), v.into());
        }
    };
    put("AccessKeyId", Some(&s.access_key_id));
    put("Arn", Some(&s.arn));
    put("UserId", Some(&s.user_id));
    put("Type", Some(s.kind.name()));
    put("Role", s.role_arn.as_deref());
    put("SessionName", s.session_name.as_deref());
    put("SourceIdentity", s.source_identity.as_deref());
    put("Issued", Some(&crate::clock::iso8601(s.issued)));
    put("Expiration", Some(&crate::clock::iso8601(s.expiration)));
    put("ChainedFrom", s.chained_from.as_deref());
    Value::Object(doc)
}
