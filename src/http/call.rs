//! What every handler does around its one use case, written once: a request id, a timer, the
//! audit record, and the call's metric.

use actix_web::HttpRequest;

use crate::clock::Stopwatch;
use crate::http::audit::{Audit, Context, Outcome};
use crate::http::query::Params;
use crate::state::AppState;
use crate::sts::RequestFacts;

/// One call in progress. [`Call::start`] when the handler begins, fill [`Call::audit`] as the
/// use case learns who and what, [`Call::end`] with the outcome.
#[derive(Debug)]
pub(crate) struct Call {
    /// The request id (`x-amzn-RequestId`, the audit event's, the error document's).
    pub(crate) request_id: String,
    /// What the audit record will name.
    pub(crate) audit: Audit,
    started: Stopwatch,
}

impl Call {
    /// A call starts: a fresh request id (on the handler's span), the timer running. With
    /// traces on, the handler's span becomes the request's server span: in the caller's trace
    /// when it sent a W3C `traceparent`, the request id on every span below it.
    pub(crate) fn start(req: &HttpRequest) -> Call {
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::Span::current();
        span.record("request_id", request_id.as_str());
        if crate::telemetry::enabled() {
            let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
            crate::telemetry::join_trace(
                &span,
                header("traceparent"),
                header("tracestate"),
                &request_id,
            );
        }
        Call {
            request_id,
            audit: Audit::default(),
            started: Stopwatch::start(),
        }
    }

    /// The call ends with `outcome`: count it under `action` and write its audit record
    /// (`params`: the request's Query parameters, for STS calls and `/workload/credentials`).
    pub(crate) fn end(
        &self,
        state: &AppState,
        req: &HttpRequest,
        action: &'static str,
        outcome: Outcome<'_>,
        params: Option<&Params>,
    ) {
        state
            .metrics
            .observe(action, outcome.label(), self.started.elapsed());
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        self.audit.emit(&Context {
            at: state.clock.now(),
            request_id: &self.request_id,
            action,
            outcome,
            source_ip: req.peer_addr().map(|a| a.ip()),
            user_agent,
            region: &state.config.region,
            account: &state.directory().account_id,
            params,
        });
    }
}

/// What the policies may know of the request itself: when (the call's `now`), where it came
/// from, and over what.
pub(crate) fn facts(
    req: &HttpRequest,
    state: &AppState,
    now: std::time::SystemTime,
) -> RequestFacts<'static> {
    RequestFacts {
        now,
        source_ip: req.peer_addr().map(|a| a.ip()),
        secure_transport: state.tls,
        extra: &[],
    }
}

/// How a signed JSON call of idbroker's own API is named: the action (audit record, metric),
/// the throttle bucket, and the answer's request id field (`RequestId` for the admin API,
/// `request_id` for the verifier protocol).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonCall {
    pub(crate) action: &'static str,
    pub(crate) bucket: &'static str,
    pub(crate) request_id_field: &'static str,
}

impl JsonCall {
    /// A call of the verifier protocol (`POST /verify/key`, `/verify/k8s`): its own bucket.
    pub(crate) fn verifier(action: &'static str) -> Self {
        JsonCall {
            action,
            bucket: action,
            request_id_field: "request_id",
        }
    }

    /// An admin call (the `Admin` bucket).
    pub(crate) fn admin(action: &'static str) -> Self {
        JsonCall {
            action,
            bucket: "Admin",
            request_id_field: "RequestId",
        }
    }
}

/// The JSON body of a call, read as `T` (`what` names it in the error:
/// `ValidationError`, "the body is not WHAT: ...").
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, crate::http::error::ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        crate::sts::StsError::Validation(format!("the body is not {what}: {e}")).into()
    })
}

/// What idbroker's own signed JSON calls (the admin API, `POST /verify/key`, `POST /verify/k8s`)
/// do around their use case: a request id, SigV4 authentication for the service `idbroker`
/// against `dir` (the call's one version of the directory), the caller's rate-limit bucket, the
/// use case (given the caller and the request's facts; it answers the JSON document and what
/// the audit record says of it), the JSON answer (`Cache-Control: no-store`) with the request
/// id, the metric and the audit record (with `asked` as its request parameters).
pub(crate) async fn signed_json_call(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    dir: &crate::directory::Directory,
    names: JsonCall,
    asked: crate::http::audit::Asked,
    use_case: impl AsyncFnOnce(
        &crate::sts::Caller,
        &RequestFacts<'static>,
    ) -> Result<
        (
            serde_json::Map<String, serde_json::Value>,
            crate::http::audit::Answer,
        ),
        crate::http::error::ApiError,
    >,
) -> Result<actix_web::HttpResponse, crate::http::error::JsonError> {
    use crate::http::error::{ApiError, JsonError};
    let mut call = Call::start(req);
    tracing::Span::current().record("action", names.action);
    call.audit.asked = asked;
    let result = async {
        let now = state.clock.now();
        let caller =
            crate::http::auth::authenticate_for(crate::admin::SERVICE, req, body, state, dir, now)
                .await?;
        // After the signature verified: the caller's own bucket (crate::throttle).
        let admitted = crate::http::throttle::by_principal(state, &caller, names.bucket, now).await;
        let done = match admitted {
            Err(throttled) => Err(ApiError::from(throttled)),
            Ok(()) => use_case(&caller, &facts(req, state, now)).await,
        };
        call.audit.who = crate::http::audit::Who::Signed(caller);
        let (mut doc, answer) = done?;
        call.audit.answer = answer;
        doc.insert(
            names.request_id_field.into(),
            call.request_id.as_str().into(),
        );
        Ok::<_, ApiError>(
            actix_web::HttpResponse::Ok()
                .content_type("application/json")
                .insert_header(("x-amzn-RequestId", call.request_id.clone()))
                .insert_header(("Cache-Control", "no-store"))
                .body(serde_json::Value::Object(doc).to_string()),
        )
    }
    .await;
    call.end(state, req, names.action, Outcome::of(&result), None);
    result.map_err(|e| JsonError(e.with_request_id(&call.request_id)))
}
