//! `POST /verify`: verification of a forwarded request for a downstream service (see
//! [`crate::verification`]). The call is signed by the service (SigV4, service `idbroker`).
//!
//! The answer is `200` only when the forwarded request verified and, when an action was asked
//! about, the session may perform it; anything else carries the status AWS would answer (400,
//! 403, 503) and `"allowed": false`, so a client that looks only at the status fails closed.
//! Every answer is JSON with `authenticated`, `allowed`, and `error` (`code`, `message`,
//! `source`: `call` or `request`) when not allowed.

use actix_web::{web, HttpRequest, HttpResponse};
use idbroker_verify::{protocol, Decision, SignatureForm, VerifiedCaller};
use tracing::instrument;

use crate::http::audit::{decision_label, Answer, Asked, Outcome, Who};
use crate::http::error::{ApiError, VerifyBlame};
use crate::http::{auth, facts, Call};
use crate::state::AppState;
use crate::sts::StsError;
use crate::verification::{self, Verification, VerifyInput};

/// The caller as the verifier protocol renders it (`idbroker_verify::protocol::caller_json`),
/// and how this request was signed.
fn caller_json(c: &VerifiedCaller) -> serde_json::Value {
    let mut doc = protocol::caller_json(c.identity());
    if let Some(m) = doc.as_object_mut() {
        m.insert("region".into(), c.region().into());
        m.insert("service".into(), c.service().into());
        let form = match c.form() {
            SignatureForm::Header => "header",
            SignatureForm::Presigned => "presigned",
        };
        m.insert("signature".into(), form.into());
        m.insert("payload_signed".into(), c.payload_signed().into());
    }
    doc
}

fn render(v: &Verification, request_id: &str) -> HttpResponse {
    let mut doc = serde_json::Map::new();
    doc.insert("authenticated".into(), true.into());
    doc.insert("allowed".into(), v.allowed().into());
    doc.insert("caller".into(), caller_json(&v.caller));
    if let Some(d) = v.decision {
        doc.insert("decision".into(), decision_label(d).into());
    }
    let mut resp = match v.denial() {
        Some(e) => {
            let e = ApiError::from(e).with_request_id(request_id);
            doc.insert("error".into(), e.verify_json(VerifyBlame::Request));
            HttpResponse::build(e.status)
        }
        None => HttpResponse::Ok(),
    };
    doc.insert("request_id".into(), request_id.into());
    resp.content_type("application/json")
        .insert_header(("x-amzn-RequestId", request_id.to_owned()))
        .body(serde_json::Value::Object(doc).to_string())
}

/// `POST /verify`. Every decision is audited: the service that asked (`userIdentity`), what
/// it asked (`requestParameters`: service, method, path, action, resource; never the
/// forwarded request's headers or query, which carry its signature and token), and the answer
/// (`responseElements`: allowed, the decision, the principal identified), or why it failed.
#[instrument(skip_all, fields(request_id, otel.kind = tracing::field::Empty))]
pub async fn verify(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut call = Call::start(&req);
    let now = state.clock.now();
    let result = async {
        let dir = &state.directory();
        let service = auth::authenticate_for("idbroker", &req, &body, &state, dir, now)
            .await
            .map_err(|e| (e, VerifyBlame::Call))?;
        let input = serde_json::from_slice::<VerifyInput>(&body).map_err(|e| {
            let e = StsError::Validation(format!("The body is not a verify request: {e}"));
            (ApiError::from(e), VerifyBlame::Call)
        });
        let input = match input {
            Ok(i) => i,
            Err(e) => {
                call.audit.who = Who::Signed(service);
                return Err(e);
            }
        };
        let request_facts = facts(&req, &state, now);
        let verified = verification::verify_request(
            &state.verifier,
            dir,
            &state.config.region,
            &service,
            &request_facts,
            &input,
        )
        .await
        .map_err(<(ApiError, VerifyBlame)>::from);
        call.audit.who = Who::Signed(service);
        call.audit.asked = asked(input);
        verified
    }
    .await;
    let (outcome, resp) = match result {
        Ok(v) => {
            let resp = render(&v, &call.request_id);
            let denial = v.denial().map(ApiError::from);
            if let Some(d) = v.decision.filter(|_| denial.is_some()) {
                call.audit.detail = Some(match d {
                    Decision::ExplicitDeny => "denied: a policy statement denies the action",
                    _ => "denied: no policy statement allows the action",
                });
            }
            call.audit.answer = Answer::Verified(Box::new(v));
            (denial, resp)
        }
        Err((e, blame)) => {
            call.audit.detail = Some(match blame {
                VerifyBlame::Call => "the /verify call itself was refused",
                VerifyBlame::Request => "the forwarded request did not verify",
            });
            let e = e.with_request_id(&call.request_id);
            let resp = e.verify_response(blame);
            (Some(e), resp)
        }
    };
    let outcome = Outcome::failed(outcome.as_ref().map(|e| (e.code, e.message.as_str())));
    call.end(&state, &req, "VerifyRequest", outcome, None);
    resp
}

/// What the audit record keeps of a verify request: never its headers, query or context.
fn asked(mut input: VerifyInput) -> Asked {
    input.headers = Vec::new();
    input.query = String::new();
    input.context.clear();
    Asked::Verify(Box::new(input))
}
