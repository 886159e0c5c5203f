//! Prometheus metrics: STS calls by action and outcome, their latency, and session store errors.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of one call. `action` is one of the STS actions or `Other`, so a client cannot grow
/// the label set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The STS action.
    pub action: &'static str,
    /// `ok` or the STS error code.
    pub outcome: &'static str,
}

/// Labels of the OIDC key fetch counter: the provider (`HOST/PATH`, from the configuration) and
/// `ok`, `error` or `stale`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JwksLabels {
    /// The provider.
    pub provider: String,
    /// The outcome.
    pub outcome: String,
}

/// Labels of the SAML metadata refresh counter: the provider name and `updated`, `unchanged`
/// or `error` (the old keys stay).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SamlRefreshLabels {
    /// The provider name.
    pub provider: String,
    /// The outcome.
    pub outcome: String,
}

/// Labels of the throttled-calls counter: the action and the bucket that was empty
/// (`principal`, `provider` or `source`), both from fixed sets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ThrottleLabels {
    /// The action.
    pub action: &'static str,
    /// The bucket kind.
    pub bucket: &'static str,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    /// The STS action.
    pub action: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~4 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    calls: Family<CallLabels, Counter>,
    latency: Family<ActionLabel, Histogram, fn() -> Histogram>,
    store_errors: Counter,
    jwks_fetches: Family<JwksLabels, Counter>,
    saml_refreshes: Family<SamlRefreshLabels, Counter>,
    throttled: Family<ThrottleLabels, Counter>,
    event_streams: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The action of `GET /verify/events` (audit, metric, throttle). Its `ServiceUnavailable` says
/// that too many streams are open, not that the store failed: it is not counted as a store error.
pub const WATCH_REVOCATIONS: &str = "WatchRevocations";

/// The action label for a request's `Action` parameter.
pub fn action_label(action: Option<&str>) -> &'static str {
    match action {
        Some("GetCallerIdentity") => "GetCallerIdentity",
        Some("GetSessionToken") => "GetSessionToken",
        Some("AssumeRole") => "AssumeRole",
        Some("AssumeRoleWithSAML") => "AssumeRoleWithSAML",
        Some("AssumeRoleWithWebIdentity") => "AssumeRoleWithWebIdentity",
        None => "None",
        Some(_) => "Other",
    }
}

impl Metrics {
    /// Fresh metrics, registered.
    pub fn new() -> Self {
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<ActionLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let store_errors = Counter::default();
        let mut registry = Registry::with_prefix("idbroker");
        registry.register(
            "sts_requests",
            "STS calls by action and outcome",
            calls.clone(),
        );
        registry.register(
            "sts_request_duration_seconds",
            "Time to answer an STS call",
            latency.clone(),
        );
        registry.register(
            "session_store_errors",
            "Session store operations that failed or timed out",
            store_errors.clone(),
        );
        let throttled = Family::<ThrottleLabels, Counter>::default();
        registry.register(
            "throttled_calls",
            "Calls refused with Throttling, by action and by the bucket that was empty",
            throttled.clone(),
        );
        let jwks_fetches = Family::<JwksLabels, Counter>::default();
        registry.register(
            "oidc_jwks_fetches",
            "Fetches of OIDC provider keys by provider and outcome (ok, error, stale: failed and answered with the last good keys)",
            jwks_fetches.clone(),
        );
        let saml_refreshes = Family::<SamlRefreshLabels, Counter>::default();
        registry.register(
            "saml_metadata_refresh",
            "Refreshes of SAML provider metadata from its URL by provider and outcome (updated, unchanged, error: the old keys stay)",
            saml_refreshes.clone(),
        );
        let event_streams = Gauge::default();
        registry.register(
            "verify_event_streams",
            "GET /verify/events streams open in this process",
            event_streams.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            event_streams,
            saml_refreshes,
            calls,
            latency,
            store_errors,
            jwks_fetches,
            throttled,
        }
    }

    /// Count one call refused with Throttling.
    pub fn throttled(&self, action: &'static str, bucket: &'static str) {
        self.throttled
            .get_or_create(&ThrottleLabels { action, bucket })
            .inc();
    }

    /// Count one call. Labels are static strings (a fixed set, no allocation per call).
    pub fn observe(&self, action: &'static str, outcome: &'static str, took: Duration) {
        self.calls
            .get_or_create(&CallLabels { action, outcome })
            .inc();
        self.latency
            .get_or_create(&ActionLabel { action })
            .observe(took.as_secs_f64());
        // An event stream refused because too many are open is not the store's failure.
        if outcome == "ServiceUnavailable" && action != WATCH_REVOCATIONS {
            self.store_errors.inc();
        }
    }

    /// `n` event streams (`GET /verify/events`) are open now.
    pub fn event_streams(&self, n: usize) {
        self.event_streams.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Count one fetch of an OIDC provider's keys.
    pub fn jwks_fetch(&self, provider: &str, outcome: &str) {
        self.jwks_fetches
            .get_or_create(&JwksLabels {
                provider: provider.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Count one refresh of a SAML provider's metadata.
    pub fn saml_metadata_refresh(&self, provider: &str, outcome: &str) {
        self.saml_refreshes
            .get_or_create(&SamlRefreshLabels {
                provider: provider.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::new();
        m.observe("AssumeRole", "ok", Duration::from_millis(2));
        m.observe(
            "AssumeRole",
            "ServiceUnavailable",
            Duration::from_millis(500),
        );
        let text = m.render();
        assert!(
            text.contains("idbroker_sts_requests_total{action=\"AssumeRole\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("idbroker_session_store_errors_total 1"),
            "{text}"
        );
        assert!(
            text.contains("idbroker_sts_request_duration_seconds_bucket"),
            "{text}"
        );
        assert_eq!(action_label(Some("Nonsense")), "Other");
        m.saml_metadata_refresh("Okta", "error");
        assert!(
            m.render().contains(
                "idbroker_saml_metadata_refresh_total{provider=\"Okta\",outcome=\"error\"} 1"
            ),
            "{}",
            m.render()
        );
    }
}
