//! AssumeRoleWithWebIdentity's answer, and the same exchange for workloads as a
//! container-credentials endpoint (what the AWS SDKs call with
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`).

use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::http::audit::{Answer, Outcome, WebIdentityAnswer, Who};
use crate::http::error::ApiError;
use crate::http::query::{self, Params};
use crate::http::xml::Body;
use crate::http::Call;
use crate::state::AppState;
use crate::sts::assume_role_with_web_identity::WebIdentityIssued;

/// The `AssumeRoleWithWebIdentityResult` body.
pub fn render(out: &WebIdentityIssued) -> Body {
    let plan = &out.session.plan;
    let mut b = Body::new();
    crate::http::xml::credentials(&mut b, &out.session.credentials);
    b.field("SubjectFromWebIdentityToken", &out.subject)
        .open("AssumedRoleUser")
        .field("AssumedRoleId", &plan.user_id)
        .field("Arn", &plan.arn)
        .close("AssumedRoleUser");
    if let Some(size) = plan.packed_policy_size {
        b.field("PackedPolicySize", &size.to_string());
    }
    b.field("Provider", &out.provider)
        .field("Audience", &out.audience);
    if let Some(s) = &plan.source_identity {
        b.field("SourceIdentity", s);
    }
    b
}

/// The session and what the token said, into the audit record.
pub(crate) fn audit(call: &mut Call, out: WebIdentityIssued) {
    call.audit.who = Who::WebIdentity {
        provider: out.provider.clone(),
        audience: Some(out.audience.clone()),
        subject: out.subject.clone(),
    };
    call.audit.answer = Answer::WebIdentity(
        out.session.into(),
        Box::new(WebIdentityAnswer {
            subject: out.subject,
            provider: out.provider,
            audience: out.audience,
        }),
    );
}

/// The container-credentials JSON the AWS SDKs read (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
fn container_json(out: &WebIdentityIssued) -> serde_json::Value {
    let creds = &out.session.credentials;
    let role = out
        .session
        .plan
        .role
        .as_ref()
        .map(|(arn, _, _)| arn.as_str())
        .unwrap_or_default();
    serde_json::json!({
        "AccessKeyId": creds.access_key_id(),
        "SecretAccessKey": creds.secret_access_key(),
        "Token": creds.session_token(),
        "Expiration": crate::clock::iso8601(creds.expiration()),
        "RoleArn": role,
    })
}

/// `GET /workload/credentials?RoleArn=...[&RoleSessionName=...][&DurationSeconds=...]` with the
/// workload's web identity token in `Authorization` (as the SDKs send the content of
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`; a `Bearer ` prefix is accepted). Answers the
/// container-credentials JSON (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`,
/// `RoleArn`); the SDK calls again before `Expiration`, so a pod refreshes by itself. Without
/// a RoleSessionName the session is named after the token's `sub` (a Kubernetes service
/// account's `system:serviceaccount:NS:NAME` becomes `system-serviceaccount-NS-NAME-` and a
/// digest), so that each workload's sessions can be told apart, audited and revoked.
#[instrument(level = "debug", skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub async fn workload_credentials(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut call = Call::start(&req);
    let now = state.clock.now();
    let admitted = crate::http::throttle::by_source(&state, &req, "WorkloadCredentials", now).await;
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty());
    // Only these three come from the query string; the token only from the header.
    let asked = Params::from_pairs(
        form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "RoleArn" | "RoleSessionName" | "DurationSeconds"
                )
            }),
    );
    let result = match (admitted, token) {
        (Err(throttled), _) => Err(ApiError::from(throttled)),
        (Ok(()), None) => Err(ApiError::new(
            "MissingAuthenticationToken",
            401,
            "The Authorization header must carry the workload's web identity token",
        )),
        (Ok(()), Some(token)) => {
            let mut pairs = asked.pairs().to_vec();
            pairs.push(("WebIdentityToken".into(), token));
            let params = Params::from_pairs(pairs);
            exchange(&state, &req, &params, &mut call, now).await
        }
    };
    call.end(
        &state,
        &req,
        "WorkloadCredentials",
        Outcome::of(&result),
        Some(&asked),
    );
    result.map_err(|e| e.with_request_id(&call.request_id))
}

async fn exchange(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
    call: &mut Call,
    now: std::time::SystemTime,
) -> Result<HttpResponse, ApiError> {
    let r = query::assume_role_with_web_identity_request(params, false)?;
    let facts = crate::http::facts(req, state, now);
    let out = crate::sts::assume_role_with_web_identity(&state.sts(&state.directory()), &r, &facts)
        .await?;
    let body = container_json(&out).to_string();
    audit(call, out);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
