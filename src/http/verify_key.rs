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

use crate::http::audit::{Answer, Asked, Outcome, Who};
use crate::http::error::{ApiError, JsonError};
use crate::http::{auth, facts, Call};
use crate::scoped_key::{self, ScopedKeyError, ScopedKeyRequest};
use crate::state::AppState;
use crate::sts::StsError;

/// The action name of the audit record, the metric and the throttle.
pub const ACTION: &str = "GetScopedKey";

/// `POST /verify/key`.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub async fn verify_key(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let mut call = Call::start(&req);
    let result = async {
        let now = state.clock.now();
        let dir = state.directory();
        let caller =
            auth::authenticate_for(crate::admin::SERVICE, &req, &body, &state, &dir, now).await;
        let caller = caller?;
        let admitted = crate::http::throttle::by_principal(&state, &caller, ACTION, now).await;
        let input: Result<ScopedKeyRequest, ApiError> =
            serde_json::from_slice(&body).map_err(|e| {
                StsError::Validation(format!("the body is not a key request: {e}")).into()
            });
        let done = match (admitted, input) {
            (Err(throttled), _) => Err(ApiError::from(throttled)),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(input)) => {
                call.audit.asked = Asked::ScopedKey {
                    access_key_id: input.access_key_id.clone(),
                    date: input.date.clone(),
                    region: input.region.clone(),
                    service: input.service.clone(),
                };
                let facts = facts(&req, &state, now);
                scoped_key::scoped_key(
                    &dir,
                    &state.config.region,
                    &state.key_source,
                    &caller,
                    &input,
                    &facts,
                )
                .await
                .map(|k| (input, k))
                .map_err(|e| match e {
                    ScopedKeyError::Call(e) => ApiError::from(e),
                    ScopedKeyError::Credential(code) => ApiError::new(
                        code,
                        403,
                        "The security token included in the request is invalid.",
                    ),
                })
            }
        };
        call.audit.who = Who::Signed(caller);
        let (input, k) = done?;
        call.audit.answer = Answer::ScopedKey {
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
            "request_id": call.request_id,
        });
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("application/json")
                .insert_header(("x-amzn-RequestId", call.request_id.clone()))
                .insert_header(("Cache-Control", "no-store"))
                .body(doc.to_string()),
        )
    }
    .await;
    call.end(&state, &req, ACTION, Outcome::of(&result), None);
    result.map_err(|e| JsonError(e.with_request_id(&call.request_id)))
}
