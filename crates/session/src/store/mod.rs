//! Where sessions live: the [`SessionStore`] trait and its backends, [`RedisStore`] (shared by all
//! replicas, standalone or cluster) and [`MemoryStore`] (one process, development only).

mod feed;
mod memory;
mod page;
mod rate;
mod redis;
mod warn_limit;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::feed::{FeedNews, RevocationEvent, RevocationFeed};
pub use self::memory::MemoryStore;
pub use self::page::{ListPosition, SessionPage, MAX_PAGE_SIZE};
pub use self::rate::{take, Admission, LocalBuckets, RateBucket, RateLimit, MAX_BUCKET_NAME};
pub use self::redis::RedisStore;
use crate::credentials::{AccessKeyId, AccessKeyKind};
use crate::session::{RevocationScope, Session};
use crate::SessionError;

/// Where sessions, single-use ids and revocation marks live.
///
/// Every method fails closed: an error means nothing was stored and nothing is known, and the
/// caller must neither issue nor accept a credential. Store trouble is
/// [`SessionError::Unavailable`]. Times are seconds since the Unix epoch, passed in by the caller.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Store a new session until it expires (the backend's expiry is `expires_at - now`).
    ///
    /// Returns `Ok` only once the store has accepted the record; the server hands out the
    /// credentials only after that. An already expired session is [`SessionError::Expired`]; an
    /// access key id that is, or was (revoked), in use is [`SessionError::Replay`]: a record is
    /// never overwritten.
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError>;

    /// The session of `access_key_id`; `None` when unknown, deleted, revoked, or expired at `now`
    /// (even if the backend still holds it).
    async fn get(
        &self,
        access_key_id: &AccessKeyId,
        now: u64,
    ) -> Result<Option<Session>, SessionError>;

    /// Forget a session (sign-out). Forgetting an unknown session is not an error.
    async fn delete(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError>;

    /// Revoke one session: it is forgotten, and its access key id cannot be stored again for the
    /// rest of its lifetime. [`SessionError::NotFound`] if there is no such live session.
    /// Announced to [`subscribe_revocations`](Self::subscribe_revocations) subscribers
    /// ([`RevocationEvent::Session`]) once written.
    async fn revoke(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError>;

    /// Mark every session of `scope` issued at or before `at` as revoked (AWS's "revoke active
    /// sessions"). Marks only move forward: an earlier `at` than the current mark changes
    /// nothing. The mark is kept `ttl_secs` seconds, which must cover the longest session
    /// lifetime (129,600 s for `GetSessionToken`); a longer remaining life is kept. Announced
    /// ([`RevocationEvent::Scope`]) once written.
    async fn set_revoked_before(
        &self,
        scope: &RevocationScope,
        at: u64,
        ttl_secs: u64,
    ) -> Result<(), SessionError>;

    /// The current mark of `scope`, if any.
    async fn revoked_before(&self, scope: &RevocationScope) -> Result<Option<u64>, SessionError>;

    /// Is `session` revoked by a mark on its role, its principal or its source identity? See
    /// [`Session::is_revoked_by`].
    async fn is_revoked(&self, session: &Session) -> Result<bool, SessionError> {
        for scope in session.revocation_scopes() {
            if let Some(at) = self.revoked_before(&scope).await? {
                if session.is_revoked_by(at) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The live sessions of `scope` (a role, a principal ARN or a source identity), a page at a
    /// time in the order of [`ListPosition`]: at most `max` (1..=[`MAX_PAGE_SIZE`], else
    /// [`SessionError::Invalid`]) of those after `after`, and where the next page starts when
    /// more may follow. Not listed: sessions expired at `now`, revoked (one by one, or by a mark
    /// on any of their scopes), deleted. A page may hold fewer than `max` sessions (even none)
    /// and still name a next page: keep going until it names none.
    ///
    /// A session whose `put` returned `Ok` is listed until it expires or is revoked.
    async fn list_sessions(
        &self,
        scope: &RevocationScope,
        after: Option<&ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<SessionPage, SessionError>;

    /// Follow the revocations of every replica sharing this store, as they are written (see
    /// [`RevocationFeed`]). `Ok(None)`: this store does not announce revocations; its readers
    /// rely on their cache TTL alone. [`SessionError::Unavailable`] when the store cannot be
    /// reached (try again later).
    async fn subscribe_revocations(&self) -> Result<Option<RevocationFeed>, SessionError> {
        Ok(None)
    }

    /// Record `id` in `namespace` (`saml` for assertion IDs, `jti` for JWT ids; 1..32 characters
    /// of `a-z0-9_-`) until `until`. [`SessionError::Replay`] if it is recorded already: one
    /// winner across all replicas. [`SessionError::Expired`] if `until <= now`.
    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError>;

    /// Leave `value` (at most [`MAX_HANDOFF_BYTES`]) under `id` in `namespace` (as
    /// [`use_once`](Self::use_once)'s) until `until`, for one later
    /// [`take_handoff`](Self::take_handoff) on any replica: how one request hands a result to
    /// another (a device sign-in approved in a browser, to the CLI polling for it).
    /// [`SessionError::Replay`] if something is already left there (it is not replaced),
    /// [`SessionError::Expired`] if `until <= now`. A store that cannot hand over answers
    /// [`SessionError::Unavailable`] (the default).
    async fn put_handoff(
        &self,
        namespace: &str,
        id: &str,
        value: &[u8],
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        let _ = (namespace, id, value, until, now);
        Err(SessionError::Unavailable)
    }

    /// Take what [`put_handoff`](Self::put_handoff) left under `id`, removing it (one taker
    /// across all replicas); `None` when nothing is there or it expired at `now`.
    async fn take_handoff(
        &self,
        namespace: &str,
        id: &str,
        now: u64,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        let _ = (namespace, id, now);
        Err(SessionError::Unavailable)
    }

    /// Take one request from each of `buckets` at `now_us` (microseconds since the Unix epoch),
    /// all or none of them (see `rate.rs`): shared by every replica that shares the store.
    /// [`SessionError::Invalid`] for a bucket name outside `[A-Za-z0-9:_-]{1,200}`.
    async fn admit(&self, buckets: &[RateBucket], now_us: u64) -> Result<Admission, SessionError>;

    /// Is the store answering? For `/readyz`.
    async fn ping(&self) -> Result<(), SessionError>;

    /// Does the store take writes now? For `/readyz`: a store that answers pings but refuses
    /// writes (Redis out of memory under `noeviction`, a read-only replica after a failover)
    /// can issue nothing. The default says yes (the in-memory store always takes them).
    async fn probe_write(&self) -> Result<(), SessionError> {
        Ok(())
    }

    /// The eviction policies in force that may drop idbroker's keys under memory pressure: a
    /// dropped session answers as unknown after the client was given it, and a dropped
    /// revocation mark makes a revoked session valid again. Each entry names the policy (and the
    /// server, for a cluster); empty when nothing can be evicted (Redis `maxmemory-policy
    /// noeviction`, or a store that never evicts).
    async fn evicting_policies(&self) -> Result<Vec<String>, SessionError> {
        Ok(Vec::new())
    }

    /// A handle for one server worker thread, when the backend wants one: Redis gives each
    /// worker its own connection, made on that worker's runtime (see `RedisStore::fork`).
    /// `None`: share this one (the in-memory store).
    fn worker_handle(&self) -> Option<std::sync::Arc<dyn SessionStore>> {
        None
    }
}

/// Seconds from `now` until `until`, or [`SessionError::Expired`] if none are left.
pub(crate) fn remaining(until: u64, now: u64) -> Result<u64, SessionError> {
    match until.checked_sub(now) {
        Some(t) if t > 0 => Ok(t),
        _ => Err(SessionError::Expired),
    }
}

/// The checks every backend makes before storing a session.
pub(crate) fn check_new_session(session: &Session, now: u64) -> Result<u64, SessionError> {
    if session.access_key_id.kind() != AccessKeyKind::Temporary {
        return Err(SessionError::Invalid(
            "session access key id (must be ASIA…)",
        ));
    }
    if session.issued_at > session.expires_at {
        return Err(SessionError::Invalid("session times (issued after expiry)"));
    }
    if let Some(parent) = &session.chained_from {
        if parent == &session.access_key_id {
            return Err(SessionError::Invalid("chained_from (the session itself)"));
        }
    }
    remaining(session.expires_at, now)
}

pub(crate) fn check_namespace(namespace: &str) -> Result<(), SessionError> {
    let ok = !namespace.is_empty()
        && namespace.len() <= 32
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SessionError::Invalid("single-use namespace"))
    }
}

/// The most [`SessionStore::put_handoff`] keeps under one id.
pub const MAX_HANDOFF_BYTES: usize = 16 * 1024;

pub(crate) fn check_handoff(value: &[u8]) -> Result<(), SessionError> {
    if value.len() > MAX_HANDOFF_BYTES {
        Err(SessionError::Invalid("handoff value (too large)"))
    } else {
        Ok(())
    }
}

pub(crate) fn check_once_id(id: &str) -> Result<(), SessionError> {
    if id.is_empty() {
        Err(SessionError::Invalid("single-use id (empty)"))
    } else {
        Ok(())
    }
}

/// Options of the Redis backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Prefix of every key (default `idbroker:`). May not contain `{` or `}` (it would take over
    /// the hash tag).
    pub prefix: String,
    /// Bound on each operation, connecting included (default 500 ms). Exceeding it is
    /// [`SessionError::Unavailable`].
    pub timeout: Duration,
    /// If above 0, `put` also waits (Redis `WAIT`) until this many replicas acknowledged the
    /// write, and fails with [`SessionError::Unavailable`] otherwise (default 0: the primary's
    /// acknowledgement is enough).
    pub min_replicas: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: "idbroker:".into(),
            timeout: Duration::from_millis(500),
            min_replicas: 0,
        }
    }
}

/// Which store to use.
#[derive(Clone, PartialEq, Eq)]
pub enum SessionStoreConfig {
    /// [`MemoryStore`]: this process only, forgotten on restart.
    Memory,
    /// A standalone Redis (or a primary behind a proxy): `redis://[:password@]host:port[/db]`,
    /// or `rediss://` for TLS if the redis crate was built with it.
    Redis {
        /// The URL (it may carry a password: it is never logged or shown by `Debug`).
        url: String,
        /// Options.
        options: RedisOptions,
    },
    /// A Redis Cluster, by some of its nodes' URLs.
    RedisCluster {
        /// Seed nodes.
        nodes: Vec<String>,
        /// Options.
        options: RedisOptions,
    },
}

/// `redis://user:pass@host` → `redis://***@host`.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host_part = match rest.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => rest.to_owned(),
    };
    if scheme.is_empty() {
        host_part
    } else {
        format!("{scheme}://{host_part}")
    }
}

impl fmt::Debug for SessionStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Redis { url, options } => f
                .debug_struct("Redis")
                .field("url", &redact_url(url))
                .field("options", options)
                .finish(),
            Self::RedisCluster { nodes, options } => f
                .debug_struct("RedisCluster")
                .field(
                    "nodes",
                    &nodes.iter().map(|n| redact_url(n)).collect::<Vec<_>>(),
                )
                .field("options", options)
                .finish(),
        }
    }
}

/// Open the configured store and check that it answers (one `PING`, bounded by the timeout):
/// [`SessionError::Unavailable`] if it does not, [`SessionError::Invalid`] for a malformed URL
/// or prefix. After this, a Redis store reconnects by itself; each operation stays bounded by
/// the timeout.
///
/// For [`SessionStoreConfig::Memory`] the caller should log that sessions live in this process
/// only and are lost on restart.
pub async fn connect(config: &SessionStoreConfig) -> Result<Arc<dyn SessionStore>, SessionError> {
    let store: Arc<dyn SessionStore> = match config {
        SessionStoreConfig::Memory => Arc::new(MemoryStore::new()),
        SessionStoreConfig::Redis { url, options } => {
            Arc::new(RedisStore::standalone(url, options.clone())?)
        }
        SessionStoreConfig::RedisCluster { nodes, options } => {
            Arc::new(RedisStore::cluster(nodes, options.clone())?)
        }
    };
    store.ping().await?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(redact_url("rediss://user:p@ss@h:1"), "rediss://***@h:1");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        let cfg = SessionStoreConfig::RedisCluster {
            nodes: vec!["redis://:hunter2@a:1".into(), "redis://b:2".into()],
            options: RedisOptions::default(),
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("redis://b:2"));
        let cfg = SessionStoreConfig::Redis {
            url: "redis://:hunter2@a:1".into(),
            options: RedisOptions::default(),
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn namespaces() {
        assert!(check_namespace("saml").is_ok());
        assert!(check_namespace("jti").is_ok());
        assert!(check_namespace("").is_err());
        assert!(check_namespace("SAML").is_err());
        assert!(check_namespace("a:b").is_err());
        assert!(check_namespace("{x}").is_err());
        assert!(check_namespace(&"a".repeat(33)).is_err());
        assert!(check_once_id("").is_err());
        assert!(check_once_id("_abc{}\n").is_ok());
    }

    #[test]
    fn remaining_time() {
        assert_eq!(remaining(10, 4), Ok(6));
        assert_eq!(remaining(10, 10), Err(SessionError::Expired));
        assert_eq!(remaining(10, 11), Err(SessionError::Expired));
    }
}
