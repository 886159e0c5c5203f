//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf); off unless `[telemetry]` (or the
//! standard `OTEL_*` variables) names an endpoint. Without it nothing here runs: no exporter, no
//! layer, and [`enabled`] is false.
//!
//! - **Spans.** The `tracing` spans of the code become OpenTelemetry spans through
//!   tracing-opentelemetry's layer, behind a filter of its own ([`Telemetry::layer`]): idbroker's
//!   spans at `debug` and up (the children of a request: IdP fetches, signature checks, policy
//!   evaluation, store calls, are `debug` spans, which the log filter's `info` leaves out, so
//!   they cost nothing without telemetry), events at `info` and up (as span events).
//! - **A request's trace.** The handler's span is the server span; [`join_trace`] (called by
//!   `http::Call::start`) makes a caller's W3C `traceparent` its parent and puts the request id
//!   in its OpenTelemetry context, which every span below it inherits: [`RequestIdProcessor`]
//!   writes it on each of them as the `request_id` attribute.
//! - **Export.** The SDK's batch processor: spans wait in a bounded queue (`max_queue_size`;
//!   when full, new spans are dropped, a request never waits) and a thread of its own sends
//!   them every `export_interval` (or at `max_export_batch_size`), each export bounded by
//!   `export_timeout`. [`Telemetry::shutdown`] sends what is left (graceful shutdown).
//!
//! Attributes come from span fields only, and every span that sees a secret says
//! `skip_all`: no secret key, session token, assertion or ID token reaches a span.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider, SpanData, SpanProcessor,
};
use opentelemetry_sdk::Resource;
use tracing::{Level, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{FilterExt, Targets};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::TelemetryConfig;

/// Whether traces are on in this process ([`Telemetry::start`] turns it on).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Are traces exported? (One relaxed load: what a request pays without telemetry.)
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The longest `tracestate` taken from a request (W3C: propagate at least 512 characters);
/// a longer one is ignored, the `traceparent` still honoured.
const MAX_TRACESTATE: usize = 512;

/// The exporter and its provider, while traces are on.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    export_timeout: Duration,
}

impl Telemetry {
    /// Build the exporter (no connection is made until the first export) and turn traces on.
    pub fn start(cfg: &TelemetryConfig) -> Result<Telemetry, String> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(cfg.endpoint.as_str())
            .with_timeout(cfg.export_timeout)
            .build()
            .map_err(|e| format!("telemetry.otlp_endpoint: {e}"))?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(cfg.max_queue_size)
            .with_max_export_batch_size(cfg.max_export_batch_size)
            .with_scheduled_delay(cfg.export_interval)
            .build();
        let resource = Resource::builder()
            .with_service_name(cfg.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            // First: the request id is on the span before the batch processor sees it.
            .with_span_processor(RequestIdProcessor)
            .with_span_processor(
                BatchSpanProcessor::builder(exporter)
                    .with_batch_config(batch)
                    .build(),
            )
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                cfg.sample_ratio,
            ))))
            .with_resource(resource)
            .build();
        ENABLED.store(true, Ordering::Relaxed);
        Ok(Telemetry {
            provider,
            export_timeout: cfg.export_timeout,
        })
    }

    /// The layer that makes spans OpenTelemetry spans, with its own filter: idbroker's spans
    /// (`idbroker*` targets, the workspace crates included) at `debug` and up, their events at
    /// `info` and up; nothing of other crates.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let spans = Targets::new().with_target("idbroker", Level::DEBUG);
        let events =
            tracing_subscriber::filter::filter_fn(|m| m.is_span() || *m.level() <= Level::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("idbroker"))
            // Spans start when a child needs their context or when they end, not on entry:
            // the handler's span can still take the caller's parent (join_trace).
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(spans.and(events))
    }

    /// Send every finished span now (tests).
    pub fn force_flush(&self) -> Result<(), String> {
        self.provider.force_flush().map_err(|e| e.to_string())
    }

    /// Send what is left, then stop (graceful shutdown); waits at most one export.
    pub fn shutdown(self) -> Result<(), String> {
        ENABLED.store(false, Ordering::Relaxed);
        self.provider
            .shutdown_with_timeout(self.export_timeout + Duration::from_secs(1))
            .map_err(|e| e.to_string())
    }
}

/// The request id, carried in the OpenTelemetry context of a request's spans.
#[derive(Debug, Clone)]
struct RequestId(Arc<str>);

/// Writes the request id on every span started below a request's server span.
#[derive(Debug)]
struct RequestIdProcessor;

impl SpanProcessor for RequestIdProcessor {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        let Some(RequestId(id)) = cx.get::<RequestId>() else {
            return;
        };
        // The server span has the request id as a field already; its parent, if any, is the
        // caller's (remote). Spans whose parent is local are below it.
        let parent = cx.span().span_context().clone();
        if parent.is_valid() && !parent.is_remote() {
            span.set_attribute(KeyValue::new("request_id", id.to_string()));
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The two W3C headers of a request, as the propagator reads them.
struct TraceHeaders<'a> {
    traceparent: Option<&'a str>,
    tracestate: Option<&'a str>,
}

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => self.traceparent,
            "tracestate" => self.tracestate.filter(|s| s.len() <= MAX_TRACESTATE),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

/// Make `span` (a handler's span, not yet started) the server span of a request: its parent
/// the caller's `traceparent` (W3C Trace Context; absent or malformed: a new trace), its kind
/// `server`, and `request_id` on every span below it. Call only when [`enabled`].
pub fn join_trace(
    span: &tracing::Span,
    traceparent: Option<&str>,
    tracestate: Option<&str>,
    request_id: &str,
) {
    let headers = TraceHeaders {
        traceparent,
        tracestate,
    };
    let cx = TraceContextPropagator::new()
        .extract(&headers)
        .with_value(RequestId(request_id.into()));
    span.record("otel.kind", "server");
    // Not traced (no layer, filtered out) or started already: nothing to join.
    let _ = span.set_parent(cx);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_long_tracestate_is_ignored() {
        let long = "k=".to_owned() + &"v".repeat(MAX_TRACESTATE);
        let h = TraceHeaders {
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            tracestate: Some(&long),
        };
        assert_eq!(h.get("tracestate"), None);
        assert!(h.get("traceparent").is_some());
        let cx = TraceContextPropagator::new().extract(&h);
        let sc = cx.span().span_context().clone();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
    }
}
