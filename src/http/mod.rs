//! actix handlers: parse, authenticate, call one use case, render. Nothing else.

pub mod admin;
mod audit;
pub mod auth;
pub mod console;
pub mod error;
pub mod ops;
pub mod verify;
pub mod web_identity;
pub mod xml;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::federation;
use crate::http::error::ApiError;
use crate::http::xml::Body;
use crate::state::AppState;
use crate::sts::params::Params;
use crate::sts::{self, RequestFacts, StsError};
pub(crate) use audit::Audit;

/// The Query-protocol parameters of a request: the query string, and for a form POST its body.
fn params(req: &HttpRequest, body: &[u8]) -> Params {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if req.method() == actix_web::http::Method::POST && is_form {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    Params::from_pairs(pairs)
}

pub(crate) fn facts(req: &HttpRequest, state: &AppState) -> RequestFacts {
    RequestFacts {
        source_ip: req.peer_addr().map(|a| a.ip().to_string()),
        secure_transport: state.tls,
    }
}

fn xml_ok(body: String, request_id: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml")
        .insert_header(("x-amzn-RequestId", request_id.to_owned()))
        .body(body)
}

/// Credentials, AssumedRoleUser, PackedPolicySize and SourceIdentity of a role session.
fn role_session(b: &mut Body, creds: &crate::state::Credentials, plan: &sts::SessionPlan) {
    xml::credentials(b, creds);
    b.open("AssumedRoleUser")
        .field("AssumedRoleId", &plan.user_id)
        .field("Arn", &plan.arn)
        .close("AssumedRoleUser");
    if let Some(size) = plan.packed_policy_size {
        b.field("PackedPolicySize", &size.to_string());
    }
    if let Some(s) = &plan.source_identity {
        b.field("SourceIdentity", s);
    }
}

/// `GET /saml/metadata`: idbroker's SAML SP metadata.
pub async fn saml_metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(federation::saml::sp_metadata::sp_metadata(
            &state.config.saml,
            state.config.console.sign_authn_requests,
        ))
}

/// `POST /` and `GET /`: every STS action.
// Debug level: an INFO span per call cost ~2% of a web-identity exchange; the audit event
// carries the request id and action of every call.
#[instrument(level = "debug", skip_all, fields(action, request_id))]
pub async fn sts(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::Span::current().record("request_id", request_id.as_str());
    let params = params(&req, &body);
    let mut audit = Audit::default();
    let result = dispatch(&req, &body, &params, &state, &request_id, &mut audit).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code,
    };
    let action = crate::metrics::action_label(params.get("Action"));
    state.metrics.observe(action, outcome, started.elapsed());
    let source_ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    audit.emit(
        &request_id,
        action,
        outcome,
        &source_ip,
        params.get("RoleArn"),
    );
    result.map_err(|e| e.with_request_id(&request_id))
}

async fn dispatch(
    req: &HttpRequest,
    body: &[u8],
    params: &Params,
    state: &AppState,
    request_id: &str,
    audit: &mut Audit,
) -> Result<HttpResponse, ApiError> {
    let action = params
        .get("Action")
        .ok_or_else(|| ApiError::new("MissingAction", 400, "Missing Action"))?
        .to_owned();
    tracing::Span::current().record("action", action.as_str());
    match params.get("Version") {
        Some("2011-06-15") => {}
        Some(v) => {
            return Err(StsError::InvalidAction(format!(
                "Could not find operation {action} for version {v}"
            ))
            .into())
        }
        None => {
            return Err(ApiError::new(
                "MissingParameter",
                400,
                "The request must contain the parameter Version",
            ))
        }
    }
    let now = state.clock.now();
    match action.as_str() {
        "GetCallerIdentity" => {
            let caller = auth::authenticate(req, body, state, now).await?;
            audit.caller = Some(caller.arn.clone());
            let id = sts::get_caller_identity(&caller);
            let wants_json = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/json"));
            if wants_json {
                let doc = serde_json::json!({"GetCallerIdentityResponse": {
                    "GetCallerIdentityResult": {"Account": id.account, "Arn": id.arn, "UserId": id.user_id},
                    "ResponseMetadata": {"RequestId": request_id}}});
                return Ok(HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header(("x-amzn-RequestId", request_id.to_owned()))
                    .body(doc.to_string()));
            }
            let mut b = Body::new();
            b.field("UserId", &id.user_id)
                .field("Account", &id.account)
                .field("Arn", &id.arn);
            Ok(xml_ok(
                b.response("GetCallerIdentity", request_id),
                request_id,
            ))
        }
        "GetSessionToken" => {
            let caller = auth::authenticate(req, body, state, now).await?;
            audit.caller = Some(caller.arn.clone());
            let plan = sts::get_session_token(&caller, params)?;
            let creds = state.mint(&plan, now).await?;
            audit.issued(&plan.arn, &creds);
            let mut b = Body::new();
            xml::credentials(&mut b, &creds);
            Ok(xml_ok(
                b.response("GetSessionToken", request_id),
                request_id,
            ))
        }
        "AssumeRole" => {
            let caller = auth::authenticate(req, body, state, now).await?;
            audit.caller = Some(caller.arn.clone());
            let plan = sts::assume_role(
                &state.config.directory,
                &caller,
                params,
                &facts(req, state),
                now,
            )?;
            let creds = state.mint(&plan, now).await?;
            audit.issued(&plan.arn, &creds);
            let mut b = Body::new();
            role_session(&mut b, &creds, &plan);
            Ok(xml_ok(b.response("AssumeRole", request_id), request_id))
        }
        "AssumeRoleWithWebIdentity" => {
            let (plan, creds) =
                web_identity::exchange(state, params, &facts(req, state), now).await?;
            audit.caller = Some(plan.provider.clone());
            audit.subject = Some(plan.subject.clone());
            audit.issued(&plan.session.arn, &creds);
            Ok(xml_ok(
                web_identity::render(&plan, &creds)
                    .response("AssumeRoleWithWebIdentity", request_id),
                request_id,
            ))
        }
        "AssumeRoleWithSAML" => {
            let r = sts::saml::request(params)?;
            let saml = &state.config.saml;
            let provider = sts::saml::provider(saml, r.principal_arn).inspect_err(|_| {
                audit.detail = Some("unknown SAML provider (PrincipalArn)");
            })?;
            let unsolicited = federation::saml::InResponseTo::Unsolicited;
            let store = state.store.as_ref();
            let verified =
                federation::saml::verify(provider, saml, r.assertion, unsolicited, store, now)
                    .await?;
            let dir = &state.config.directory;
            let facts = facts(req, state);
            let out =
                sts::saml::assume_role_with_saml(dir, provider, &verified, params, &facts, now)?;
            let creds = state.mint(&out.plan, now).await?;
            audit.caller = Some(provider.arn.clone());
            audit.subject = Some(out.subject.clone());
            audit.issued(&out.plan.arn, &creds);
            let mut b = Body::new();
            role_session(&mut b, &creds, &out.plan);
            b.field("Subject", &out.subject)
                .field("SubjectType", &out.subject_type)
                .field("Issuer", &out.issuer)
                .field("Audience", &out.audience)
                .field("NameQualifier", &out.name_qualifier);
            Ok(xml_ok(
                b.response("AssumeRoleWithSAML", request_id),
                request_id,
            ))
        }
        other => Err(StsError::InvalidAction(format!(
            "Could not find operation {other} for version 2011-06-15"
        ))
        .into()),
    }
}
