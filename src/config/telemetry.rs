//! `[telemetry]`: OpenTelemetry traces exported over OTLP/HTTP (protobuf). Off unless an
//! endpoint is configured, in the file or by the standard `OTEL_*` variables.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::settings::ConfigError;

/// `[telemetry]`
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// The OTLP/HTTP traces URL (`http://127.0.0.1:4318/v1/traces`); unset: no traces.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans (default `idbroker`).
    pub service_name: Option<String>,
    /// Share of new traces sampled, 0.0..=1.0 (default 1.0); a caller's `traceparent` decides
    /// for its own trace.
    pub sample_ratio: Option<f64>,
    /// Bound on one export (the HTTP request and its retries), milliseconds (default 10000).
    pub export_timeout_ms: Option<u64>,
    /// Time between two exports, milliseconds (default 5000).
    pub export_interval_ms: Option<u64>,
    /// Spans held for export; past it new spans are dropped (default 2048).
    pub max_queue_size: Option<usize>,
    /// Spans per export request (default 512).
    pub max_export_batch_size: Option<usize>,
}

/// Traces are exported: where and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP traces URL.
    pub endpoint: String,
    /// `service.name`.
    pub service_name: String,
    /// Share of new traces sampled.
    pub sample_ratio: f64,
    /// Bound on one export.
    pub export_timeout: Duration,
    /// Time between two exports.
    pub export_interval: Duration,
    /// Spans held for export at most.
    pub max_queue_size: usize,
    /// Spans per export request at most.
    pub max_export_batch_size: usize,
}

/// Longest `service_name`.
const MAX_SERVICE_NAME: usize = 255;

/// `[telemetry]`, validated, with the standard variables over the file:
/// `OTEL_SDK_DISABLED=true` turns traces off; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the traces
/// URL, as written) or else `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL: `/v1/traces` is
/// appended) replaces `otlp_endpoint`; `OTEL_SERVICE_NAME` replaces `service_name`.
/// `None`: no traces.
pub(super) fn telemetry(
    raw: &RawTelemetry,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<TelemetryConfig>, ConfigError> {
    let set = |var: &str| {
        env(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let endpoint = match (
        set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        set("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(traces), _) => Some(traces),
        (None, Some(base)) => Some(format!("{}/v1/traces", base.trim_end_matches('/'))),
        (None, None) => raw.otlp_endpoint.clone(),
    };
    let Some(endpoint) = endpoint else {
        return Ok(None);
    };
    let key = "telemetry.otlp_endpoint";
    let url = url::Url::parse(&endpoint)
        .map_err(|e| ConfigError::new(file, key, format!("{endpoint:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            file,
            key,
            "an http:// or https:// URL with a host (OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/traces)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            file,
            key,
            "no credentials in the URL (give the collector's headers in OTEL_EXPORTER_OTLP_HEADERS)",
        ));
    }
    let service_name = set("OTEL_SERVICE_NAME")
        .or_else(|| raw.service_name.clone())
        .unwrap_or_else(|| "idbroker".into());
    if service_name.is_empty()
        || service_name.len() > MAX_SERVICE_NAME
        || service_name.chars().any(char::is_control)
    {
        return Err(ConfigError::new(
            file,
            "telemetry.service_name",
            format!("1..{MAX_SERVICE_NAME} characters, no control characters"),
        ));
    }
    let sample_ratio = raw.sample_ratio.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sample_ratio) {
        return Err(ConfigError::new(
            file,
            "telemetry.sample_ratio",
            "must be 0.0..1.0",
        ));
    }
    let bounded = |key: &str, v: Option<u64>, default: u64, range: (u64, u64)| {
        let v = v.unwrap_or(default);
        if (range.0..=range.1).contains(&v) {
            Ok(v)
        } else {
            Err(ConfigError::new(
                file,
                key,
                format!("must be {}..{}", range.0, range.1),
            ))
        }
    };
    let export_timeout = bounded(
        "telemetry.export_timeout_ms",
        raw.export_timeout_ms,
        10_000,
        (100, 60_000),
    )?;
    let export_interval = bounded(
        "telemetry.export_interval_ms",
        raw.export_interval_ms,
        5_000,
        (10, 60_000),
    )?;
    let as_u64 = |v: Option<usize>| v.map(|v| u64::try_from(v).unwrap_or(u64::MAX));
    let max_queue_size = bounded(
        "telemetry.max_queue_size",
        as_u64(raw.max_queue_size),
        2048,
        (1, 1 << 20),
    )?;
    let max_export_batch_size = bounded(
        "telemetry.max_export_batch_size",
        as_u64(raw.max_export_batch_size),
        512.min(max_queue_size),
        (1, max_queue_size),
    )?;
    Ok(Some(TelemetryConfig {
        endpoint: url.to_string(),
        service_name,
        sample_ratio,
        export_timeout: Duration::from_millis(export_timeout),
        export_interval: Duration::from_millis(export_interval),
        max_queue_size: usize::try_from(max_queue_size).unwrap_or(2048),
        max_export_batch_size: usize::try_from(max_export_batch_size).unwrap_or(512),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn load(raw: &RawTelemetry, vars: &[(&str, &str)]) -> Result<Option<TelemetryConfig>, String> {
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        telemetry(raw, Path::new("t.toml"), &env).map_err(|e| e.to_string())
    }

    fn with_endpoint(url: &str) -> RawTelemetry {
        RawTelemetry {
            otlp_endpoint: Some(url.into()),
            ..RawTelemetry::default()
        }
    }

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(load(&RawTelemetry::default(), &[]).unwrap(), None);
    }

    #[test]
    fn defaults() {
        let t = load(&with_endpoint("http://127.0.0.1:4318/v1/traces"), &[])
            .unwrap()
            .unwrap();
        assert_eq!(t.endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(t.service_name, "idbroker");
        assert_eq!(t.sample_ratio, 1.0);
        assert_eq!(t.export_timeout, Duration::from_secs(10));
        assert_eq!(t.export_interval, Duration::from_secs(5));
        assert_eq!((t.max_queue_size, t.max_export_batch_size), (2048, 512));
    }

    #[test]
    fn the_standard_variables_win() {
        let file = with_endpoint("http://file.example:4318/v1/traces");
        let t = load(
            &file,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_SERVICE_NAME", "sts-eu"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(t.service_name, "sts-eu");
        let t = load(
            &file,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://c.example/t"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.endpoint, "https://c.example/t");
        assert_eq!(load(&file, &[("OTEL_SDK_DISABLED", "true")]).unwrap(), None);
        // Traces on from the environment alone.
        assert!(load(
            &RawTelemetry::default(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]
        )
        .unwrap()
        .is_some());
    }

    #[test]
    fn refusals_name_the_key() {
        for (raw, key) in [
            (with_endpoint("grpc://collector:4317"), "otlp_endpoint"),
            (with_endpoint("not a url"), "otlp_endpoint"),
            (
                with_endpoint("https://user:pw@collector/v1/traces"),
                "otlp_endpoint",
            ),
            (
                RawTelemetry {
                    sample_ratio: Some(1.5),
                    ..with_endpoint("http://c:4318/v1/traces")
                },
                "sample_ratio",
            ),
            (
                RawTelemetry {
                    service_name: Some(String::new()),
                    ..with_endpoint("http://c:4318/v1/traces")
                },
                "service_name",
            ),
            (
                RawTelemetry {
                    export_timeout_ms: Some(0),
                    ..with_endpoint("http://c:4318/v1/traces")
                },
                "export_timeout_ms",
            ),
            (
                RawTelemetry {
                    max_queue_size: Some(100),
                    max_export_batch_size: Some(101),
                    ..with_endpoint("http://c:4318/v1/traces")
                },
                "max_export_batch_size",
            ),
        ] {
            let e = load(&raw, &[]).unwrap_err();
            assert!(e.contains(&format!("telemetry.{key}")), "{e}");
        }
    }
}
