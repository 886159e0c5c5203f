//! Taking one request from each of a call's buckets.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idbroker_session::{Admission, LocalBuckets, RateBucket, SessionError, SessionStore};
use sha2::{Digest, Sha256};

use super::settings::{BucketKind, ThrottleSettings};
use crate::metrics::Metrics;

/// Whose bucket a call draws from.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The caller principal's ARN (for a role session: the role's ARN).
    Principal(&'a str),
    /// The identity provider's ARN.
    Provider(&'a str),
    /// The source address.
    Source(IpAddr),
}

impl Key<'_> {
    fn kind(&self) -> BucketKind {
        match self {
            Key::Principal(_) => BucketKind::Principal,
            Key::Provider(_) => BucketKind::Provider,
            Key::Source(_) => BucketKind::Source,
        }
    }

    /// The bucket's name: `throttle:ACTION:KIND:HASH`, where HASH is the first 16 bytes of the
    /// SHA-256 of the ARN, or of the address (an IPv6 address's /64: one host has a /64 to
    /// itself and could otherwise take a fresh bucket per request). Bounded whatever was sent.
    fn bucket_name(&self, action: &str) -> String {
        let mut h = Sha256::new();
        match self {
            Key::Principal(arn) | Key::Provider(arn) => h.update(arn.as_bytes()),
            Key::Source(IpAddr::V4(a)) => h.update(a.octets()),
            Key::Source(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => h.update(v4.octets()),
                None => h.update(a.octets().get(..8).unwrap_or_default()),
            },
        }
        let digest = h.finalize();
        let hash = data_encoding::HEXLOWER.encode(digest.get(..16).unwrap_or_default());
        format!("throttle:{action}:{}:{hash}", self.kind().as_str())
    }
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ThrottleError {
    /// A bucket of the call is empty.
    #[error("rate exceeded ({} bucket)", kind.as_str())]
    Limited {
        /// Which bucket.
        kind: BucketKind,
        /// When it has room again.
        retry_after: Duration,
    },
    /// The store did not answer: nothing can be admitted (it could not be stored either).
    #[error("the session store is unavailable")]
    Unavailable,
}

/// The buckets, lent for one call: the limits, the store that keeps the buckets, and the
/// metrics that count refusals.
#[derive(Clone, Copy)]
pub struct Throttle<'a> {
    /// The limits.
    pub settings: &'a ThrottleSettings,
    /// Where the buckets are kept.
    pub store: &'a dyn SessionStore,
    /// This process's buckets, for when the store cannot be reached: calls that need no store
    /// (GetCallerIdentity with a long-term key) stay limited, per replica, and answered.
    pub fallback: &'a LocalBuckets,
    /// Counts throttled calls.
    pub metrics: &'a Metrics,
}

impl std::fmt::Debug for Throttle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("settings", self.settings)
            .finish_non_exhaustive()
    }
}

impl Throttle<'_> {
    /// Take one request of `action` at `now` from the bucket of each of `keys` (those whose
    /// limit is not off), all or none of them. `action` is one of
    /// [`ACTIONS`](super::ACTIONS).
    pub async fn admit(
        &self,
        action: &'static str,
        keys: &[Key<'_>],
        now: SystemTime,
    ) -> Result<(), ThrottleError> {
        if !self.settings.enabled {
            return Ok(());
        }
        let limits = self.settings.limits(action);
        let mut kinds = Vec::with_capacity(keys.len());
        let mut buckets = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(limit) = limits.of(key.kind()) {
                kinds.push(key.kind());
                buckets.push(RateBucket {
                    name: key.bucket_name(action),
                    limit,
                });
            }
        }
        if buckets.is_empty() {
            return Ok(());
        }
        let now_us = now
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let admission = match self.store.admit(&buckets, now_us).await {
            Ok(a) => a,
            // Still limited, by this replica alone, while the store is away; a call that needs
            // the store fails there, as it would have.
            Err(SessionError::Unavailable) => self.fallback.admit(&buckets, now_us),
            Err(_) => return Err(ThrottleError::Unavailable),
        };
        match admission {
            Admission::Admitted => Ok(()),
            Admission::Limited {
                bucket,
                retry_after,
            } => {
                let kind = kinds.get(bucket).copied().unwrap_or(BucketKind::Source);
                self.metrics.throttled(action, kind.as_str());
                Err(ThrottleError::Limited { kind, retry_after })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_bounded_and_group_ipv6_by_64() {
        let huge = "x".repeat(100_000);
        let n = Key::Principal(&huge).bucket_name("AssumeRole");
        assert!(n.starts_with("throttle:AssumeRole:principal:"));
        assert_eq!(n.len(), "throttle:AssumeRole:principal:".len() + 32);
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let name = |ip| Key::Source(ip).bucket_name("AssumeRoleWithSAML");
        assert_eq!(name(a), name(b));
        assert_ne!(name(a), name(c));
        // An IPv4-mapped address is the IPv4 address.
        let v4: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(name(v4), name(mapped));
        // Kinds and actions never share a bucket.
        assert_ne!(
            Key::Principal("p").bucket_name("AssumeRole"),
            Key::Provider("p").bucket_name("AssumeRole")
        );
        assert_ne!(
            Key::Principal("p").bucket_name("AssumeRole"),
            Key::Principal("p").bucket_name("GetSessionToken")
        );
    }
}
