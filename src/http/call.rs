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
