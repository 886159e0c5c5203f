//! [`VerifierOptions`]: what a [`Verifier`](crate::Verifier) is made with, and which service a
//! request must be signed for ([`ExpectedService`]).

use std::time::Duration;

use crate::Skew;

/// Which service a request must be signed for: the service of its credential scope. There is
/// no "any service": a request signed for one service is never accepted by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedService {
    /// This service ([`VerifierOptions::new`]): [`Verifier::verify`](crate::Verifier::verify) refuses requests signed for
    /// any other.
    Named(String),
    /// The service is named by each call ([`Verifier::verify_for_service`](crate::Verifier::verify_for_service));
    /// [`Verifier::verify`](crate::Verifier::verify) refuses every request. For one verifier shared by several services,
    /// as idbroker's `POST /verify` ([`VerifierOptions::service_per_call`]).
    PerCall,
}

/// How a [`Verifier`](crate::Verifier) works.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// Allowed SigV4 clock skew (default 15 minutes, as AWS).
    pub skew: Skew,
    /// How long a grant is trusted while the source's event stream is down (default 1 s): the
    /// bound on how late a revocation is seen then. While the stream is up, revocations evict
    /// at once.
    pub cache_ttl: Duration,
    /// How long a grant is trusted while the event stream is up (default 15 minutes): after
    /// that, it is asked for again (so an access key deactivated without an event, or a lost
    /// event, is noticed within it).
    pub max_age: Duration,
    /// At most this many cached grants (default 100,000).
    pub cache_capacity: usize,
    /// The service the credential scope must name (e.g. `execute-api`). Required: given to
    /// [`VerifierOptions::new`].
    pub service: ExpectedService,
    /// The host the request must be signed for: its (always signed) `Host` header, compared
    /// without regard to case, with the port if the client's URL has one
    /// (`orders.example.com`, `orders.example.com:8443`). A request signed for another host
    /// (captured at another service that trusts the same sessions) is refused. `None` (the
    /// default): not checked.
    pub host: Option<String>,
    /// The regions the credential scope may name; empty: any.
    pub regions: Vec<String>,
    /// The hosts (with the port, if any, as in the URL: `sts.example.com`, `127.0.0.1:8443`) a
    /// `k8s-aws-v1.` token's presigned URL may name: where clients reach idbroker's STS
    /// endpoint. Empty (the default): every token is refused.
    pub sts_hosts: Vec<String>,
}

impl VerifierOptions {
    /// Options for a verifier of requests signed for `service` (the credential scope's service,
    /// e.g. `execute-api`). Defaults: 15-minute skew, 1 s cache TTL (stream down), 15-minute
    /// maximum age (stream up), 100,000 cached grants, any region, the host not checked
    /// ([`with_host`](Self::with_host)).
    pub fn new(service: impl Into<String>) -> Self {
        Self::with(ExpectedService::Named(service.into()))
    }

    /// Options for a verifier shared by several services, each call naming the service the
    /// request must be signed for ([`Verifier::verify_for_service`](crate::Verifier::verify_for_service); [`Verifier::verify`](crate::Verifier::verify)
    /// refuses everything). Otherwise as [`new`](Self::new).
    pub fn service_per_call() -> Self {
        Self::with(ExpectedService::PerCall)
    }

    fn with(service: ExpectedService) -> Self {
        VerifierOptions {
            skew: Skew::DEFAULT,
            cache_ttl: Duration::from_secs(1),
            max_age: Duration::from_secs(15 * 60),
            cache_capacity: 100_000,
            service,
            host: None,
            regions: Vec::new(),
            sts_hosts: Vec::new(),
        }
    }

    /// Accept `k8s-aws-v1.` tokens presigned for these STS hosts.
    pub fn with_sts_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sts_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Require requests signed for this host (the `Host` header, with the port if any).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Accept only these regions in the credential scope.
    pub fn with_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.regions = regions.into_iter().map(Into::into).collect();
        self
    }
}
