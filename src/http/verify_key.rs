//! `POST /verify/key`: the signing key of one credential scope for a downstream service (see
//! [`crate::scoped_key`]). The call is signed by the service (SigV4, service `idbroker`); the
//! answer is JSON (docs/VERIFIER-PROTOCOL.md): `signing_key` (64 hex digits: a secret of that
//! scope only), the scope (`access_key_id`, `date`, `region`, `service`), `expires_at` (seconds
//! since the epoch: do not use the key past it), the `caller`'s facts, the `policies` that decide
//! for it (documents) and the `policy_version`. Errors are JSON too, with AWS's codes. The audit record names the access key and the
//! scope (`requestParameters`) and the principal (`responseElements`), never the key or the
//! session token.

use actix_web::{web, HttpRequest, HttpResponse};
use idbroker_verify::protocol;
use tracing::instrument;

use crate::http::audit::{Answer, Asked};
use crate::http::call::{json_body, signed_json_call, JsonCall};
use crate::http::error::{ApiError, JsonError};
use crate::scoped_key::{self, ScopedKeyError, ScopedKeyRequest};
use crate::state::AppState;

/// The action name of the audit record, the metric and the throttle.
pub const ACTION: &str = "GetScopedKey";

/// `POST /verify/key`.
#[instrument(skip_all, fields(action, request_id, otel.kind = tracing::field::Empty))]
pub async fn verify_key(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let dir = state.directory();
    let input = json_body::<ScopedKeyRequest>(&body, "a key request");
    let asked = input.as_ref().map_or(Asked::Nothing, |i| Asked::ScopedKey {
        access_key_id: i.access_key_id.clone(),
        date: i.date.clone(),
        region: i.region.clone(),
        service: i.service.clone(),
    });
    let names = JsonCall::verifier(ACTION);
    signed_json_call(
        &req,
        &body,
        &state,
        &dir,
        names,
        asked,
        async |caller, facts| {
            let input = input?;
            let k = scoped_key::scoped_key(
                &dir,
                &state.config.region,
                &state.key_source,
                caller,
                &input,
                facts,
            )
            .await
            .map_err(|e| match e {
                ScopedKeyError::Call(e) => ApiError::from(e),
                ScopedKeyError::Credential(code) => ApiError::new(
                    code,
                    403,
                    "The security token included in the request is invalid.",
                ),
            })?;
            let answer = Answer::ScopedKey {
                arn: k.caller.identity.arn.clone(),
                expires_at: k.expires_at,
            };
            let doc = serde_json::json!({
                "signing_key": k.key.to_hex(),
                "access_key_id": input.access_key_id,
                "date": input.date,
                "region": input.region,
                "service": input.service,
                "expires_at": k.expires_at,
                "caller": protocol::caller_json(&k.caller.identity),
                "policies": protocol::policies_json(&k.caller.policies),
                "policy_version": dir.version(),
            });
            Ok((object(doc), answer))
        },
    )
    .await
}

/// A `json!({...})` document as the map the call adds its request id to.
pub(crate) fn object(doc: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match doc {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}
