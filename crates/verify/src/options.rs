//! [`VerifierOptions`]: what a [`Verifier`](crate::Verifier) is made with, and which service a
//! request must be signed for ([`ExpectedService`]).

use std::sync::Arc;
use std::time::Duration;

use idbroker_session::SealingKeys;

use crate::{PolicyDirectory, Skew};

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
    /// The server's sealing keys (active and old), to open the sessions' secrets.
    pub sealing_keys: Arc<SealingKeys>,
    /// The policy documents sessions refer to.
    pub policies: Arc<PolicyDirectory>,
    /// Allowed SigV4 clock skew (default 15 minutes, as AWS).
    pub skew: Skew,
    /// How long a session record read from the store is trusted (default 1 s): the bound on how
    /// late a revocation is seen.
    pub cache_ttl: Duration,
    /// At most this many cached sessions (default 100,000).
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
    /// e.g. `execute-api`). Defaults: 15-minute skew, 1 s cache TTL, 100,000 cached sessions,
    /// any region, the host not checked ([`with_host`](Self::with_host)).
    pub fn new(
        service: impl Into<String>,
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        Self::with(
            ExpectedService::Named(service.into()),
            sealing_keys,
            policies,
        )
    }

    /// Options for a verifier shared by several services, each call naming the service the
    /// request must be signed for ([`Verifier::verify_for_service`](crate::Verifier::verify_for_service); [`Verifier::verify`](crate::Verifier::verify)
    /// refuses everything). Otherwise as [`new`](Self::new).
    pub fn service_per_call(
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        Self::with(ExpectedService::PerCall, sealing_keys, policies)
    }

    fn with(
        service: ExpectedService,
        sealing_keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        VerifierOptions {
            sealing_keys,
            policies,
            skew: Skew::DEFAULT,
            cache_ttl: Duration::from_secs(1),
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
