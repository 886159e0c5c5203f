//! The STS Query API (`POST /` and `GET /`): the action and version, then per action: read its
//! typed request (`query.rs`), authenticate when it is signed (`auth.rs`), call its one use case
//! in `crate::sts`, render the XML (or JSON) answer, fill the audit record.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tracing::instrument;

use crate::http::audit::{Answer, Outcome, Who};
use crate::http::error::ApiError;
use crate::http::query::{self, Params};
use crate::http::xml::{self, Body};
use crate::http::{auth, facts, throttle, web_identity, Call};
use crate::state::AppState;
use crate::sts::{self, IssuedSession, StsError};

fn xml_ok(body: String, request_id: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml")
        .insert_header(("x-amzn-RequestId", request_id.to_owned()))
        .body(body)
}

/// Credentials, AssumedRoleUser, PackedPolicySize and SourceIdentity of a role session.
fn role_session(b: &mut Body, issued: &IssuedSession) {
    let plan = &issued.plan;
    xml::credentials(b, &issued.credentials);
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

/// `POST /` and `GET /`: every STS action.
// Debug level: an INFO span per call cost ~2% of a web-identity exchange; the audit record
// carries the request id and action of every call.
#[instrument(level = "debug", skip_all, fields(action, request_id, otel.kind = tracing::field::Empty))]
pub async fn sts(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query::params(&req, &body);
    // The IAM API shares the listener (the AWS CLI and SDKs send it to the same endpoint URL).
    if params.get("Version") == Some(crate::iam::VERSION) {
        return crate::http::iam_endpoint::iam(&req, &body, &params, &state).await;
    }
    let mut call = Call::start(&req);
    let result = dispatch(&req, &body, &params, &state, &mut call).await;
    let action = crate::metrics::action_label(params.get("Action"));
    call.end(&state, &req, action, Outcome::of(&result), Some(&params));
    result.map_err(|e| e.with_request_id(&call.request_id))
}

/// Notes a use case's failure in the audit record where the answer says less than an operator
/// needs, and makes it the client's answer.
fn failed(call: &mut Call, e: StsError) -> ApiError {
    if let Some(detail) = e.audit_detail() {
        call.audit.detail = Some(detail);
    }
    e.into()
}

/// AssumeRoleWithSAML's session and what the assertion said, into the audit record.
fn saml_audit(call: &mut Call, out: sts::assume_role_with_saml::SamlIssued) {
    call.audit.who = Who::Saml {
        provider: out.provider_arn,
        name_qualifier: Some(out.name_qualifier.clone()),
        subject: out.subject.clone(),
    };
    call.audit.answer = Answer::Saml(
        out.session.into(),
        Box::new(crate::http::audit::SamlAnswer {
            subject: out.subject,
            subject_type: out.subject_type,
            issuer: out.issuer,
            audience: out.audience,
            name_qualifier: out.name_qualifier,
        }),
    );
}

async fn dispatch(
    req: &HttpRequest,
    body: &[u8],
    params: &Params,
    state: &AppState,
    call: &mut Call,
) -> Result<HttpResponse, ApiError> {
    let action = params
        .get("Action")
        .ok_or_else(|| ApiError::new("MissingAction", 400, "Missing Action"))?;
    tracing::Span::current().record("action", action);
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
    let directory = state.directory();
    let services = state.sts(&directory);
    let rid = call.request_id.clone();
    match action {
        "GetCallerIdentity" => {
            let caller = auth::authenticate(req, body, state, &directory, now).await?;
            let admitted = throttle::by_principal(state, &caller, "GetCallerIdentity", now).await;
            let id = sts::get_caller_identity(&caller);
            call.audit.who = Who::Signed(caller);
            admitted?;
            let wants_json = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/json"));
            if wants_json {
                let doc = serde_json::json!({"GetCallerIdentityResponse": {
                    "GetCallerIdentityResult": {"Account": id.account, "Arn": id.arn, "UserId": id.user_id},
                    "ResponseMetadata": {"RequestId": rid}}});
                return Ok(HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header(("x-amzn-RequestId", rid.clone()))
                    .body(doc.to_string()));
            }
            let mut b = Body::new();
            b.field("UserId", &id.user_id)
                .field("Account", &id.account)
                .field("Arn", &id.arn);
            Ok(xml_ok(b.response("GetCallerIdentity", &rid), &rid))
        }
        "GetSessionToken" => {
            let caller = auth::authenticate(req, body, state, &directory, now).await?;
            let admitted = throttle::by_principal(state, &caller, "GetSessionToken", now).await;
            let issued = match (admitted, query::get_session_token_request(params)) {
                (Err(throttled), _) => Err(throttled.into()),
                (Ok(()), Ok(r)) => sts::get_session_token(&services, &caller, &r, now)
                    .await
                    .map_err(|e| failed(call, e)),
                (Ok(()), Err(e)) => Err(e.into()),
            };
            call.audit.who = Who::Signed(caller);
            let issued = issued?;
            let mut b = Body::new();
            xml::credentials(&mut b, &issued.credentials);
            call.audit.issued(issued);
            Ok(xml_ok(b.response("GetSessionToken", &rid), &rid))
        }
        "AssumeRole" => {
            let caller = auth::authenticate(req, body, state, &directory, now).await?;
            let admitted = throttle::by_principal(state, &caller, "AssumeRole", now).await;
            let issued = match (admitted, query::assume_role_request(params)) {
                (Err(throttled), _) => Err(throttled.into()),
                (Ok(()), Ok(r)) => {
                    sts::assume_role(&services, &caller, &r, &facts(req, state, now))
                        .await
                        .map_err(|e| failed(call, e))
                }
                (Ok(()), Err(e)) => Err(e.into()),
            };
            call.audit.who = Who::Signed(caller);
            let issued = issued?;
            let mut b = Body::new();
            role_session(&mut b, &issued);
            call.audit.issued(issued);
            Ok(xml_ok(b.response("AssumeRole", &rid), &rid))
        }
        "AssumeRoleWithWebIdentity" => {
            throttle::by_source(state, req, "AssumeRoleWithWebIdentity", now).await?;
            let r = query::assume_role_with_web_identity_request(params, true)?;
            let out = sts::assume_role_with_web_identity(&services, &r, &facts(req, state, now))
                .await
                .map_err(|e| failed(call, e))?;
            let body = web_identity::render(&out).response("AssumeRoleWithWebIdentity", &rid);
            web_identity::audit(call, out);
            Ok(xml_ok(body, &rid))
        }
        "AssumeRoleWithSAML" => {
            throttle::by_source(state, req, "AssumeRoleWithSAML", now).await?;
            let r = query::assume_role_with_saml_request(params)?;
            let out = sts::assume_role_with_saml(&services, &r, &facts(req, state, now))
                .await
                .map_err(|e| failed(call, e))?;
            let mut b = Body::new();
            role_session(&mut b, &out.session);
            b.field("Subject", &out.subject)
                .field("SubjectType", &out.subject_type)
                .field("Issuer", &out.issuer)
                .field("Audience", &out.audience)
                .field("NameQualifier", &out.name_qualifier);
            let body = b.response("AssumeRoleWithSAML", &rid);
            saml_audit(call, out);
            Ok(xml_ok(body, &rid))
        }
        other => Err(StsError::InvalidAction(format!(
            "Could not find operation {other} for version 2011-06-15"
        ))
        .into()),
    }
}
