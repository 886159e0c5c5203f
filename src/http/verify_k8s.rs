//! `POST /verify/k8s`: a `k8s-aws-v1.` bearer token checked for a downstream service (see
//! [`crate::verification::verify_k8s_token`]). The call is signed by the service (SigV4, service
//! `idbroker`); the answer is JSON (docs/VERIFIER-PROTOCOL.md): the `caller`'s facts, the
//! `policies` that decide for it, the token's `region` and the `policy_version`. Errors are JSON
//! with AWS's codes (`InvalidToken`, 401, for a malformed token). The audit record names the
//! cluster and the principal, never the token.

use actix_web::{web, HttpRequest, HttpResponse};
use idbroker_verify::protocol;
use tracing::instrument;

use crate::http::audit::{Answer, Asked, Outcome, Who};
use crate::http::error::{ApiError, JsonError};
use crate::http::{auth, facts, Call};
use crate::state::AppState;
use crate::sts::StsError;
use crate::verification::{self, K8sTokenInput, K8sVerificationError};

/// The action name of the audit record, the metric and the throttle.
pub const ACTION: &str = "VerifyK8sToken";

/// `POST /verify/k8s`.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub async fn verify_k8s(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let mut call = Call::start(&req);
    let result = async {
        let now = state.clock.now();
        let dir = state.directory();
        let caller =
            auth::authenticate_for(crate::admin::SERVICE, &req, &body, &state, &dir, now).await?;
        let admitted = crate::http::throttle::by_principal(&state, &caller, ACTION, now).await;
        let input: Result<K8sTokenInput, ApiError> = serde_json::from_slice(&body).map_err(|e| {
            StsError::Validation(format!("the body is not a k8s token request: {e}")).into()
        });
        let done = match (admitted, input) {
            (Err(throttled), _) => Err(ApiError::from(throttled)),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(input)) => {
                call.audit.asked = Asked::K8sToken {
                    cluster_id: input.cluster_id.clone(),
                };
                let facts = facts(&req, &state, now);
                verification::verify_k8s_token(
                    &state.verifier,
                    &dir,
                    &state.config.region,
                    &caller,
                    &facts,
                    &input,
                )
                .await
                .map_err(|e| match e {
                    K8sVerificationError::Call(e) => ApiError::from(e),
                    K8sVerificationError::Token(e) => {
                        ApiError::new(e.code(), e.http_status(), e.to_string())
                    }
                })
            }
        };
        call.audit.who = Who::Signed(caller);
        let verified = done?;
        call.audit.answer = Answer::Identified {
            arn: verified.arn().to_owned(),
        };
        let doc = serde_json::json!({
            "caller": protocol::caller_json(verified.identity()),
            "policies": protocol::policies_json(verified.policies()),
            "region": verified.region(),
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
