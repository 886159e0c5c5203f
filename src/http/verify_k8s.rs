//! `POST /verify/k8s`: a `k8s-aws-v1.` bearer token checked for a downstream service (see
//! [`crate::verification::verify_k8s_token`]). The call is signed by the service (SigV4, service
//! `idbroker`); the answer is JSON (docs/VERIFIER-PROTOCOL.md): the `caller`'s facts, the
//! `policies` that decide for it, the token's `region` and the `policy_version`. Errors are JSON
//! with AWS's codes (`InvalidToken`, 401, for a malformed token). The audit record names the
//! cluster and the principal, never the token.

use actix_web::{web, HttpRequest, HttpResponse};
use idbroker_verify::protocol;
use tracing::instrument;

use crate::http::audit::{Answer, Asked};
use crate::http::call::{json_body, signed_json_call, JsonCall};
use crate::http::error::{ApiError, JsonError};
use crate::http::verify_key::object;
use crate::state::AppState;
use crate::verification::{self, K8sTokenInput, K8sVerificationError};

/// The action name of the audit record, the metric and the throttle.
pub const ACTION: &str = "VerifyK8sToken";

/// `POST /verify/k8s`.
#[instrument(skip_all, fields(action, request_id, otel.kind = tracing::field::Empty))]
pub async fn verify_k8s(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JsonError> {
    let dir = state.directory();
    let input = json_body::<K8sTokenInput>(&body, "a k8s token request");
    let asked = input.as_ref().map_or(Asked::Nothing, |i| Asked::K8sToken {
        cluster_id: i.cluster_id.clone(),
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
            let verified = verification::verify_k8s_token(
                &state.verifier,
                &dir,
                &state.config.region,
                caller,
                facts,
                &input,
            )
            .await
            .map_err(|e| match e {
                K8sVerificationError::Call(e) => ApiError::from(e),
                K8sVerificationError::Token(e) => {
                    ApiError::new(e.code(), e.http_status(), e.to_string())
                }
            })?;
            let answer = Answer::Identified {
                arn: verified.arn().to_owned(),
            };
            let doc = serde_json::json!({
                "caller": protocol::caller_json(verified.identity()),
                "policies": protocol::policies_json(verified.policies()),
                "region": verified.region(),
                "policy_version": dir.version(),
            });
            Ok((object(doc), answer))
        },
    )
    .await
}
