//! AssumeRoleWithWebIdentity over the STS Query protocol, and the same exchange for workloads as
//! a container-credentials endpoint (what the AWS SDKs call with
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`).

use std::time::SystemTime;

use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::federation::oidc::session_name_from;
use crate::http::audit::Audit;
use crate::http::error::ApiError;
use crate::http::xml::Body;
use crate::state::{AppState, Credentials};
use crate::sts::params::Params;
use crate::sts::web_identity::{self, WebIdentityPlan};
use crate::sts::RequestFacts;

/// Verify the token, decide, mint. Credentials exist only once the store has the session.
#[instrument(level = "debug", skip_all)]
pub async fn exchange(
    state: &AppState,
    params: &Params,
    facts: &RequestFacts,
    now: SystemTime,
) -> Result<(WebIdentityPlan, Credentials), ApiError> {
    exchange_named(state, params, facts, now, false).await
}

/// [`exchange`]; with `name_from_subject`, the session is named after the verified token's
/// `sub` (made a valid RoleSessionName: [`session_name_from`]) instead of the request's
/// RoleSessionName, which is then only a placeholder for the parameter checks.
async fn exchange_named(
    state: &AppState,
    params: &Params,
    facts: &RequestFacts,
    now: SystemTime,
    name_from_subject: bool,
) -> Result<(WebIdentityPlan, Credentials), ApiError> {
    let mut req = web_identity::parse_request(params)?;
    let token = state
        .oidc
        .verify(req.token, state.store.as_ref(), now)
        .await?;
    let named = name_from_subject.then(|| session_name_from(token.subject()));
    if let Some(name) = &named {
        req.session_name = name;
    }
    let plan = web_identity::plan(&state.config.directory, &token, &req, facts, now)?;
    let creds = state.mint(&plan.session, now).await?;
    Ok((plan, creds))
}

/// The `AssumeRoleWithWebIdentityResult` body.
pub fn render(plan: &WebIdentityPlan, creds: &Credentials) -> Body {
    let mut b = Body::new();
    crate::http::xml::credentials(&mut b, creds);
    b.field("SubjectFromWebIdentityToken", &plan.subject)
        .open("AssumedRoleUser")
        .field("AssumedRoleId", &plan.session.user_id)
        .field("Arn", &plan.session.arn)
        .close("AssumedRoleUser");
    if let Some(size) = plan.session.packed_policy_size {
        b.field("PackedPolicySize", &size.to_string());
    }
    b.field("Provider", &plan.provider)
        .field("Audience", &plan.audience);
    if let Some(s) = &plan.session.source_identity {
        b.field("SourceIdentity", s);
    }
    b
}

/// `GET /workload/credentials?RoleArn=...[&RoleSessionName=...][&DurationSeconds=...]` with the
/// workload's web identity token in `Authorization` (as the SDKs send the content of
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`; a `Bearer ` prefix is accepted). Answers the
/// container-credentials JSON (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`,
/// `RoleArn`); the SDK calls again before `Expiration`, so a pod refreshes by itself. Without
/// a RoleSessionName the session is named after the token's `sub` (a Kubernetes service
/// account's `system:serviceaccount:NS:NAME` becomes `system-serviceaccount-NS-NAME-` and a
/// digest), so that each workload's sessions can be told apart, audited and revoked.
#[instrument(level = "debug", skip_all)]
pub async fn workload_credentials(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut audit = Audit::default();
    let now = state.clock.now();
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty());
    let result = match token {
        None => Err(ApiError::new(
            "MissingAuthenticationToken",
            401,
            "The Authorization header must carry the workload's web identity token",
        )),
        Some(token) => {
            let mut pairs: Vec<(String, String)> =
                form_urlencoded::parse(req.query_string().as_bytes())
                    .into_owned()
                    .filter(|(k, _)| {
                        matches!(
                            k.as_str(),
                            "RoleArn" | "RoleSessionName" | "DurationSeconds"
                        )
                    })
                    .collect();
            let name_from_subject = !pairs.iter().any(|(k, _)| k == "RoleSessionName");
            if name_from_subject {
                // A placeholder for the parameter checks; the verified `sub` names the session.
                pairs.push(("RoleSessionName".into(), "workload".into()));
            }
            pairs.push(("WebIdentityToken".into(), token));
            let params = Params::from_pairs(pairs);
            let facts = RequestFacts {
                source_ip: req.peer_addr().map(|a| a.ip().to_string()),
                secure_transport: state.tls,
            };
            exchange_named(&state, &params, &facts, now, name_from_subject)
                .await
                .map(|(plan, creds)| {
                    audit.caller = Some(plan.provider.clone());
                    audit.subject = Some(plan.subject.clone());
                    audit.issued(&plan.session.arn, &creds);
                    let role = plan
                        .session
                        .role
                        .as_ref()
                        .map(|(arn, _, _)| arn.clone())
                        .unwrap_or_default();
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(creds.container_json(&role).to_string())
                })
        }
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code,
    };
    state
        .metrics
        .observe("WorkloadCredentials", outcome, started.elapsed());
    let source_ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let role = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "RoleArn")
        .map(|(_, v)| v.into_owned());
    audit.emit(
        &request_id,
        "WorkloadCredentials",
        outcome,
        &source_ip,
        role.as_deref(),
    );
    result.map_err(|e| e.with_request_id(&request_id))
}
