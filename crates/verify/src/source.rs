//! Where a [`Verifier`](crate::Verifier) gets what it needs to check a request it has not seen:
//! a [`KeySource`]. It asks for the signing key of one credential scope (an access key, a date,
//! a region, a service) and receives a [`Grant`]: the key, who the caller is and the policies
//! that decide for it. Never the secret access key.
//!
//! Two sources exist: [`RemoteSource`](crate::RemoteSource) (feature `remote`, the default)
//! asks idbroker over HTTPS (`docs/VERIFIER-PROTOCOL.md`): what a downstream service uses, with
//! only idbroker's URL and its own key. [`StoreSource`](crate::StoreSource) (feature `store`)
//! reads idbroker's session store with its sealing keys: for idbroker's own process only
//! (`POST /verify`, `POST /verify/key`), never for a service.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use idbroker_policy::Policy;
use idbroker_session::RevocationEvent;
use idbroker_sigv4::ScopeKey;

use crate::caller::CallerIdentity;
use crate::{K8sTokenError, VerifyError};

/// One credential scope's key, asked for by the verifier.
#[derive(Clone, Copy)]
pub struct KeyAsk<'a> {
    /// The access key id the request was signed with (`ASIA…` or `AKIA…`).
    pub access_key_id: &'a str,
    /// The session token the request carried.
    pub session_token: Option<&'a str>,
    /// The credential scope's date (`YYYYMMDD`).
    pub date: &'a str,
    /// Its region.
    pub region: &'a str,
    /// Its service.
    pub service: &'a str,
    /// Now, as the verifier sees it.
    pub now: SystemTime,
}

impl fmt::Debug for KeyAsk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAsk")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The policies that decide for a caller, compiled: identity ∩ permissions boundary ∩ session
/// policies. `resolved == false`: some document the session refers to is unknown to idbroker,
/// so nothing is allowed.
#[derive(Debug, Clone, Default)]
pub struct GrantPolicies {
    /// The role's (or user's) identity policies: inline and attached managed ones.
    pub identity: Vec<Arc<Policy>>,
    /// The permissions boundary.
    pub boundary: Option<Arc<Policy>>,
    /// The session policies (inline and managed).
    pub session: Vec<Arc<Policy>>,
    /// Every document the session refers to was found.
    pub resolved: bool,
}

/// What a [`KeySource`] answers for a [`KeyAsk`]: the scope's key and the caller it belongs to.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The derived key of the scope asked for (a secret of that scope only).
    pub key: ScopeKey,
    /// Do not use the key after this (seconds since the epoch): the session's expiry.
    pub expires_at: u64,
    /// Who the caller is, and what decides for it.
    pub caller: Answer,
}

/// Who a verified caller is and the policies that decide for it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Who.
    pub identity: CallerIdentity,
    /// What decides for it.
    pub policies: GrantPolicies,
}

/// What a source's event stream says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceNews {
    /// A revocation: drop the entries it concerns.
    Revoked(RevocationEvent),
    /// The policies changed (their new version): forget every entry if it differs.
    Policies(String),
    /// Revocations may have been missed (the source's own feed reconnected, or lagged): forget
    /// every entry. The stream is up.
    Reset,
    /// The stream is up and nothing happened.
    Alive,
    /// The source's own feed is down: entries are trusted for the cache TTL only until a
    /// [`SourceNews::Reset`].
    Down,
    /// The stream ended: subscribe again.
    Lost,
}

/// A subscription to a source's revocations and policy changes.
#[async_trait]
pub trait EventStream: Send {
    /// The next event. After [`SourceNews::Lost`] the stream is finished.
    async fn next(&mut self) -> SourceNews;
}

/// Where a verifier gets scoped keys, callers' facts and policies, and the news that makes
/// them stale.
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The key of `ask`'s scope and its caller, once the access key (and the session token, for
    /// a temporary one) are known valid at `ask.now`. Refusals are the verifier's errors
    /// (`InvalidClientTokenId`, `ExpiredToken`); a source that cannot answer fails closed
    /// (`ServiceUnavailable`).
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError>;

    /// Subscribe to revocations and policy changes, for the verifier of `service` (the
    /// verifier's own, if it has one). `Ok(None)`: this source announces nothing (entries are
    /// then trusted for the cache TTL only). The first event of a new stream is the state it
    /// starts from: every entry cached before it is forgotten.
    async fn events(
        &self,
        service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError>;

    /// Check a `k8s-aws-v1.` token for `cluster_id` at `now` where the source can (idbroker
    /// itself: no service is ever given a key for `sts`). `None`: check it here, with a key
    /// for `sts` from [`grant`](Self::grant) (idbroker's own process).
    async fn k8s_token(
        &self,
        _token: &str,
        _cluster_id: &str,
        _now: SystemTime,
    ) -> Option<Result<(Answer, String), K8sTokenError>> {
        None
    }
}
