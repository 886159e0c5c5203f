//! The Redis store, standalone or cluster.
//!
//! Key layout (`P` is the prefix, default `idbroker:`):
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `P{ASIA…}:session` | the session record (JSON, `"v":1`), or once revoked the tombstone `revoked` | the session's remaining life |
//! | `Ponce:NS:HEX` | `1`: a used SAML assertion ID / JWT `jti` (`HEX` = SHA-256 of the id) | until the id's own expiry |
//! | `Prevoked-before:KIND:HEX` | unix seconds: sessions of the scope issued at or before it are revoked (`KIND` = `role`, `principal`, `source-identity`; `HEX` = SHA-256 of the ARN / identity) | as set, never shortened |
//! | `Pindex:KIND:HEX` | sorted set: the sessions of the scope (`KIND`, `HEX` as above), member = access key id, score = its expiry; expired members dropped at each write | the longest session in it |
//!
//! A session is one key, so every write of it is one atomic command, in a cluster too: issuing
//! is `SET … NX EX` (refused when the id is in use or revoked: a revoked session's key holds its
//! tombstone for the rest of its life), revoking swaps the record for the tombstone keeping the
//! expiry. The `{ASIA…}` hash tag keeps any future per-session key in the same slot. Issuing
//! also adds the session to the index of each of its scopes, before the record is written (on a
//! standalone Redis, in the same script: one round trip); see [`index`] for listing.
//!
//! Every revocation is also published on the channel `Prevocations` (a [`RevocationEvent`]
//! message), by the same script that writes it: a revocation that is written is announced. Pub/sub
//! channels are global to a Redis server (not per database). In a cluster the script runs on the
//! primary that holds the key, which delivers the message to its own subscribers at once (and
//! relays it over the cluster bus to the other nodes, which has been seen to lag by seconds under
//! load): a feed subscribes on every primary (`CLUSTER SLOTS`), and a topology change loses the
//! feed, which is then made again on the new primaries.
//!
//! `Pthrottle:ACTION:KIND:HEX` keys hold rate-limit buckets (a GCRA theoretical arrival time in
//! microseconds, expiring at it; see `rate.rs`).
//!
//! Caller-chosen values (assertion IDs, ARNs) are hashed into keys, so they cannot inject a hash
//! tag or grow keys without bound.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Script, Value};
use async_trait::async_trait;
use tokio::sync::OnceCell;

mod index;

use self::index::IndexScripts;
use super::feed::{RevocationEvent, RevocationFeed};
use super::page::{ListPosition, SessionPage};
use super::rate::{check_buckets, Admission, RateBucket, GCRA_SCRIPT};
use super::warn_limit::WarnLimit;
use super::{
    check_handoff, check_namespace, check_new_session, check_once_id, redact_url, remaining,
    RedisOptions, SessionStore,
};
use crate::credentials::AccessKeyId;
use crate::session::{RevocationScope, Session};
use crate::SessionError;

/// What a revoked session's key holds for the rest of the session's life (never valid JSON, so
/// never read as a session).
const TOMBSTONE: &str = "revoked";

/// Revoke a session: its record becomes the tombstone, keeping the expiry.
/// KEYS: session. ARGV: the tombstone, fallback lifetime in ms for a record without expiry, the
/// revocation channel, the message to publish.
/// Returns 1 if revoked, 0 if there was no session (or it was revoked already).
const REVOKE: &str = r"
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = tonumber(ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
";

/// Forget a session, but never a tombstone (a revoked id must not become free again).
/// KEYS: session. ARGV: the tombstone.
const DELETE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
";

/// Move a revocation mark forward, never back; never shorten its life.
/// KEYS: mark. ARGV: at (unix seconds), ttl seconds, the revocation channel, the message.
const MARK: &str = r"
local at = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) and tonumber(cur) > tonumber(at) then at = cur end
local ttl = tonumber(ARGV[2])
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], at, 'EX', ttl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
";

/// A revocation feed pings the server this often when no message comes, so that a connection
/// that died silently is noticed (within this plus the operation timeout).
const FEED_PING_EVERY: Duration = Duration::from_secs(5);

/// Tombstone lifetime for a session record found without an expiry (never written so by this
/// crate): the longest session lifetime AWS allows, 36 hours.
const FALLBACK_TOMBSTONE_MS: u64 = 129_600_000;

#[derive(Clone)]
enum Target {
    Standalone(::redis::Client),
    Cluster(ClusterClient),
}

/// One connection handle of either kind; both multiplex and reconnect by themselves.
#[derive(Clone)]
enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// The Redis store: a standalone server or a cluster, shared by every replica.
///
/// Construction does no IO; the connection is made by the first operation and re-made by the
/// client library after failures. Every operation, connecting included, is bounded by
/// [`RedisOptions::timeout`]; a timeout, an IO error or an error reply is
/// [`SessionError::Unavailable`] (a reply of the wrong type is [`SessionError::Corrupt`]).
pub struct RedisStore {
    target: Target,
    /// The server, or the seed nodes of a cluster (revocation feeds ask the first that answers
    /// for the primaries, and subscribe on each).
    pubsub: Vec<::redis::Client>,
    conn: OnceCell<Conn>,
    prefix: String,
    timeout: Duration,
    min_replicas: u32,
    revoke_script: Script,
    delete_script: Script,
    mark_script: Script,
    gcra_script: Script,
    index_scripts: IndexScripts,
    /// What `Debug` shows of the target (passwords redacted).
    shown: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.shown)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("min_replicas", &self.min_replicas)
            .finish_non_exhaustive()
    }
}

fn check_options(options: &RedisOptions) -> Result<(), SessionError> {
    if options.prefix.contains(['{', '}']) {
        return Err(SessionError::Invalid("store prefix (no braces)"));
    }
    if options.timeout.is_zero() {
        return Err(SessionError::Invalid("store timeout (0)"));
    }
    Ok(())
}

fn sha256_hex(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    data_encoding::HEXLOWER.encode(d.as_ref())
}

/// Store errors and timeouts: an outage repeats them for every call, so each kind is written at
/// most once per 10 s, with the count left out ([`WarnLimit`]).
static STORE_ERRORS: WarnLimit = WarnLimit::new();
static STORE_TIMEOUTS: WarnLimit = WarnLimit::new();

fn store_error(e: &RedisError) -> SessionError {
    if let Some(more) = STORE_ERRORS.admit_now() {
        tracing::warn!(
            kind = ?e.kind(),
            code = e.code(),
            left_out = more,
            "session store error ({more} more in the last 10 s)"
        );
    }
    if e.kind() == ErrorKind::TypeError || e.code() == Some("WRONGTYPE") {
        SessionError::Corrupt
    } else {
        SessionError::Unavailable
    }
}

impl RedisStore {
    /// A store on a standalone Redis at `url` (`redis://[:password@]host:port[/db]`). No IO
    /// happens here; [`SessionError::Invalid`] for a malformed URL or options.
    pub fn standalone(url: &str, options: RedisOptions) -> Result<Self, SessionError> {
        check_options(&options)?;
        let client = ::redis::Client::open(url).map_err(|_| SessionError::Invalid("store url"))?;
        Ok(Self::with_target(
            Target::Standalone(client.clone()),
            vec![client],
            redact_url(url),
            options,
        ))
    }

    /// A store on a Redis Cluster reached through some of its nodes (`redis://host:port`). No
    /// IO happens here; [`SessionError::Invalid`] for malformed URLs or options.
    pub fn cluster<S: AsRef<str>>(
        nodes: &[S],
        options: RedisOptions,
    ) -> Result<Self, SessionError> {
        check_options(&options)?;
        if nodes.is_empty() {
            return Err(SessionError::Invalid("store nodes (none)"));
        }
        let urls: Vec<&str> = nodes.iter().map(AsRef::as_ref).collect();
        let client = ClusterClient::builder(urls.clone())
            .connection_timeout(options.timeout)
            .response_timeout(options.timeout)
            // Redirections (MOVED/ASK) during resharding need a retry or two; the operation
            // timeout bounds the whole.
            .retries(3)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()
            .map_err(|_| SessionError::Invalid("store nodes"))?;
        let pubsub = urls
            .iter()
            .map(|u| ::redis::Client::open(*u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SessionError::Invalid("store nodes"))?;
        let shown = urls
            .iter()
            .map(|u| redact_url(u))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self::with_target(
            Target::Cluster(client),
            pubsub,
            shown,
            options,
        ))
    }

    fn with_target(
        target: Target,
        pubsub: Vec<::redis::Client>,
        shown: String,
        options: RedisOptions,
    ) -> Self {
        Self {
            target,
            pubsub,
            conn: OnceCell::new(),
            prefix: options.prefix,
            timeout: options.timeout,
            min_replicas: options.min_replicas,
            revoke_script: Script::new(REVOKE),
            delete_script: Script::new(DELETE),
            mark_script: Script::new(MARK),
            gcra_script: Script::new(GCRA_SCRIPT),
            index_scripts: IndexScripts::new(),
            shown,
        }
    }

    /// The key of a session's record: `P{ASIA…}:session`.
    pub fn session_key(&self, access_key_id: &AccessKeyId) -> String {
        format!("{}{{{access_key_id}}}:session", self.prefix)
    }

    /// Every key one session has (one: its record or tombstone).
    pub fn keys_of_session(&self, access_key_id: &AccessKeyId) -> Vec<String> {
        vec![self.session_key(access_key_id)]
    }

    /// The key recording a single-use id: `Ponce:NS:` + SHA-256 of the id, hex.
    pub fn once_key(&self, namespace: &str, id: &str) -> String {
        format!("{}once:{namespace}:{}", self.prefix, sha256_hex(id))
    }

    /// The key of a handoff: `Phandoff:NAMESPACE:` + SHA-256 of the id, hex.
    pub fn handoff_key(&self, namespace: &str, id: &str) -> String {
        format!("{}handoff:{namespace}:{}", self.prefix, sha256_hex(id))
    }

    /// The key of a revocation mark: `Prevoked-before:KIND:` + SHA-256 of the value, hex.
    pub fn revocation_key(&self, scope: &RevocationScope) -> String {
        format!(
            "{}revoked-before:{}:{}",
            self.prefix,
            scope.kind(),
            sha256_hex(scope.value())
        )
    }

    /// The channel revocations are published on: `Prevocations`.
    pub fn revocation_channel(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The same store with a connection of its own, made on first use on the runtime that uses
    /// it. The connection's driver task lives on the runtime that made it; a server whose worker
    /// threads each run a runtime (actix) gives each worker a fork, so that a store operation
    /// never wakes another thread (sharing one connection across workers cost a third of the
    /// AssumeRole throughput, in context switches).
    pub fn fork(&self) -> Self {
        Self {
            target: self.target.clone(),
            pubsub: self.pubsub.clone(),
            conn: OnceCell::new(),
            prefix: self.prefix.clone(),
            timeout: self.timeout,
            min_replicas: self.min_replicas,
            revoke_script: self.revoke_script.clone(),
            delete_script: self.delete_script.clone(),
            mark_script: self.mark_script.clone(),
            gcra_script: self.gcra_script.clone(),
            index_scripts: self.index_scripts.clone(),
            shown: self.shown.clone(),
        }
    }

    async fn connection(&self) -> Result<Conn, SessionError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Standalone(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(self.timeout)
                            .set_response_timeout(self.timeout)
                            .set_number_of_retries(1)
                            .set_max_delay(100);
                        ConnectionManager::new_with_config(client.clone(), config)
                            .await
                            .map(Conn::Standalone)
                    }
                    Target::Cluster(client) => {
                        client.get_async_connection().await.map(Conn::Cluster)
                    }
                }
                .map_err(|e| store_error(&e))
            })
            .await?;
        Ok(conn.clone())
    }

    /// Run `op` on a connection, the whole bounded by the timeout.
    async fn bounded<T, F, Fut>(&self, op: F) -> Result<T, SessionError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        tokio::time::timeout(self.timeout, async {
            let conn = self.connection().await?;
            op(conn).await.map_err(|e| store_error(&e))
        })
        .await
        .map_err(|_| {
            if let Some(more) = STORE_TIMEOUTS.admit_now() {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis(),
                    left_out = more,
                    "session store timeout ({more} more in the last 10 s)"
                );
            }
            SessionError::Unavailable
        })?
    }

    async fn query<T: ::redis::FromRedisValue>(&self, cmd: Cmd) -> Result<T, SessionError> {
        self.bounded(|mut conn| async move { cmd.query_async::<T>(&mut conn).await })
            .await
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    #[tracing::instrument(level = "debug", name = "store.put", skip_all, fields(store = "redis"))]
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError> {
        let ttl = check_new_session(session, now)?;
        let record = session.to_json()?;
        let id = &session.access_key_id;
        let key = self.session_key(id);
        let indexes = self.index_keys(session);
        let stored = match &self.target {
            // One script: refused when the id is in use or revoked (its key holds the
            // tombstone), else the index entries, then the record.
            Target::Standalone(_) => {
                let mut issue = self.index_scripts.issue.key(&key);
                for index in &indexes {
                    issue.key(index);
                }
                issue
                    .arg(&record)
                    .arg(ttl)
                    .arg(session.expires_at)
                    .arg(id.as_str())
                    .arg(now);
                self.bounded(|mut conn| async move { issue.invoke_async::<i64>(&mut conn).await })
                    .await?
                    == 1
            }
            // The index keys are in other slots than the record: every index entry is written
            // (or the put fails) before the record is.
            Target::Cluster(_) => {
                self.bounded(|conn| async move {
                    let writes = indexes.iter().map(|index| {
                        let mut conn = conn.clone();
                        let mut add = self.index_scripts.index.key(index);
                        add.arg(session.expires_at)
                            .arg(id.as_str())
                            .arg(now)
                            .arg(ttl);
                        async move { add.invoke_async::<i64>(&mut conn).await }
                    });
                    futures_util::future::try_join_all(writes).await?;
                    // NX: refused when the id is in use or revoked (the tombstone).
                    let mut cmd = ::redis::cmd("SET");
                    cmd.arg(&key).arg(&record).arg("EX").arg(ttl).arg("NX");
                    cmd.query_async::<Option<String>>(&mut conn.clone()).await
                })
                .await?
                .is_some()
            }
        };
        if !stored {
            return Err(SessionError::Replay);
        }
        if self.min_replicas > 0 {
            // Leave room inside the operation timeout for the reply.
            let wait_ms = u64::try_from(self.timeout.as_millis() * 4 / 5).unwrap_or(u64::MAX);
            let mut cmd = ::redis::cmd("WAIT");
            cmd.arg(self.min_replicas).arg(wait_ms.max(1));
            // On a cluster, WAIT on the primary that holds the session (its slot: the hash tag,
            // the access key id), not on every primary: a primary that lost its replica in a
            // failover must not stop issuance for the slots of the others.
            let slot = key_slot(id.as_str());
            let acked: i64 = self
                .bounded(|conn| async move {
                    match conn {
                        Conn::Standalone(mut c) => cmd.query_async::<i64>(&mut c).await,
                        Conn::Cluster(mut c) => {
                            let route = ::redis::cluster_routing::Route::new(
                                slot,
                                ::redis::cluster_routing::SlotAddr::Master,
                            );
                            let v = c
                                .route_command(
                                    &cmd,
                                    ::redis::cluster_routing::RoutingInfo::SingleNode(
                                        ::redis::cluster_routing::SingleNodeRoutingInfo::SpecificNode(
                                            route,
                                        ),
                                    ),
                                )
                                .await?;
                            ::redis::from_redis_value::<i64>(&v)
                        }
                    }
                })
                .await?;
            if acked < i64::from(self.min_replicas) {
                tracing::warn!(
                    acked,
                    wanted = self.min_replicas,
                    "session store: too few replicas acknowledged a session"
                );
                return Err(SessionError::Unavailable);
            }
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", name = "store.get", skip_all, fields(store = "redis"))]
    async fn get(
        &self,
        access_key_id: &AccessKeyId,
        now: u64,
    ) -> Result<Option<Session>, SessionError> {
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(self.session_key(access_key_id));
        let raw: Option<Vec<u8>> = self.query(cmd).await?;
        let Some(raw) = raw else { return Ok(None) };
        if raw == TOMBSTONE.as_bytes() {
            return Ok(None);
        }
        let session = Session::from_json(&raw)?;
        // The record under a key must be that key's (fail closed on a misplaced record).
        if &session.access_key_id != access_key_id {
            return Err(SessionError::Corrupt);
        }
        // Alive by the caller's clock, not only by Redis's.
        if session.is_expired(now) {
            return Ok(None);
        }
        Ok(Some(session))
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.delete",
        skip_all,
        fields(store = "redis")
    )]
    async fn delete(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError> {
        let key = self.session_key(access_key_id);
        let _: i64 = self
            .bounded(|mut conn| async move {
                self.delete_script
                    .key(key)
                    .arg(TOMBSTONE)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.revoke",
        skip_all,
        fields(store = "redis")
    )]
    async fn revoke(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError> {
        let key = self.session_key(access_key_id);
        let revoked: i64 = self
            .bounded(|mut conn| async move {
                self.revoke_script
                    .key(key)
                    .arg(TOMBSTONE)
                    .arg(FALLBACK_TOMBSTONE_MS)
                    .arg(self.revocation_channel())
                    .arg(RevocationEvent::Session(access_key_id.clone()).to_message())
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        if revoked == 1 {
            Ok(())
        } else {
            Err(SessionError::NotFound)
        }
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.set_revoked_before",
        skip_all,
        fields(store = "redis")
    )]
    async fn set_revoked_before(
        &self,
        scope: &RevocationScope,
        at: u64,
        ttl_secs: u64,
    ) -> Result<(), SessionError> {
        if ttl_secs == 0 {
            return Err(SessionError::Invalid("revocation mark lifetime (0)"));
        }
        let key = self.revocation_key(scope);
        let _: i64 = self
            .bounded(|mut conn| async move {
                self.mark_script
                    .key(key)
                    .arg(at)
                    .arg(ttl_secs)
                    .arg(self.revocation_channel())
                    .arg(RevocationEvent::Scope(scope.clone()).to_message())
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.revoked_before",
        skip_all,
        fields(store = "redis")
    )]
    async fn revoked_before(&self, scope: &RevocationScope) -> Result<Option<u64>, SessionError> {
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(self.revocation_key(scope));
        let raw: Option<String> = self.query(cmd).await?;
        raw.map(|s| s.parse::<u64>().map_err(|_| SessionError::Corrupt))
            .transpose()
    }

    async fn list_sessions(
        &self,
        scope: &RevocationScope,
        after: Option<&ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<SessionPage, SessionError> {
        self.list_page(scope, after, max, now).await
    }

    #[tracing::instrument(level = "debug", name = "store.use_once", skip_all, fields(store = "redis", namespace = %namespace))]
    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        check_namespace(namespace)?;
        check_once_id(id)?;
        let ttl = remaining(until, now)?;
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(self.once_key(namespace, id))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl);
        let set: Option<String> = self.query(cmd).await?;
        match set.as_deref() {
            Some("OK") => Ok(()),
            _ => Err(SessionError::Replay),
        }
    }

    #[tracing::instrument(level = "debug", name = "store.put_handoff", skip_all, fields(store = "redis", namespace = %namespace))]
    async fn put_handoff(
        &self,
        namespace: &str,
        id: &str,
        value: &[u8],
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        check_namespace(namespace)?;
        check_once_id(id)?;
        check_handoff(value)?;
        let ttl = remaining(until, now)?;
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(self.handoff_key(namespace, id))
            .arg(value)
            .arg("NX")
            .arg("EX")
            .arg(ttl);
        let set: Option<String> = self.query(cmd).await?;
        match set.as_deref() {
            Some("OK") => Ok(()),
            _ => Err(SessionError::Replay),
        }
    }

    #[tracing::instrument(level = "debug", name = "store.take_handoff", skip_all, fields(store = "redis", namespace = %namespace))]
    async fn take_handoff(
        &self,
        namespace: &str,
        id: &str,
        _now: u64,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        check_namespace(namespace)?;
        check_once_id(id)?;
        // GETDEL (Redis 6.2): read and remove in one command, so two replicas never both
        // take it. Redis expires the key itself (EX above).
        let mut cmd = ::redis::cmd("GETDEL");
        cmd.arg(self.handoff_key(namespace, id));
        let value: Option<Vec<u8>> = self.query(cmd).await?;
        Ok(value)
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.admit",
        skip_all,
        fields(store = "redis")
    )]
    async fn admit(&self, buckets: &[RateBucket], now_us: u64) -> Result<Admission, SessionError> {
        check_buckets(buckets)?;
        // A standalone Redis takes every bucket in one script, all or nothing. A cluster keeps
        // each bucket in its own slot, so one script per bucket, in order: a refusal by a later
        // bucket leaves the earlier ones charged (a call over the limit of one bucket still
        // counts against the others: slightly stricter, never looser).
        let groups: Vec<&[RateBucket]> = match self.target {
            Target::Standalone(_) => vec![buckets],
            Target::Cluster(_) => buckets.chunks(1).collect(),
        };
        for (at, group) in groups.iter().enumerate() {
            let mut invocation = self.gcra_script.prepare_invoke();
            invocation.arg(now_us);
            for b in *group {
                invocation
                    .key(format!("{}{}", self.prefix, b.name))
                    .arg(b.limit.interval_us())
                    .arg(b.limit.burst());
            }
            let (which, wait): (i64, i64) = self
                .bounded(|mut conn| async move { invocation.invoke_async(&mut conn).await })
                .await?;
            if which > 0 {
                let offset = usize::try_from(which - 1).map_err(|_| SessionError::Corrupt)?;
                let first = if group.len() == 1 { at } else { 0 };
                return Ok(Admission::Limited {
                    bucket: first + offset,
                    retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
                });
            }
        }
        Ok(Admission::Admitted)
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.ping",
        skip_all,
        fields(store = "redis")
    )]
    async fn ping(&self) -> Result<(), SessionError> {
        // In a cluster, PING goes to every primary: ready only when all answer.
        let _: Value = self.query(::redis::cmd("PING")).await?;
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.probe_write",
        skip_all,
        fields(store = "redis")
    )]
    async fn probe_write(&self) -> Result<(), SessionError> {
        // One small key, overwritten by every probe, gone 10 s after the last one. Redis refuses
        // a SET when it is over maxmemory (OOM) or a read-only replica: that is the answer. On
        // a cluster, one key on every primary (one full or read-only primary fails a third of
        // the issuance of a three-primary cluster).
        let keys = match self.target {
            Target::Standalone(_) => vec![format!("{}readyz", self.prefix)],
            Target::Cluster(_) => {
                let mut cmd = ::redis::cmd("CLUSTER");
                cmd.arg("SLOTS");
                let slots: Value = self.query(cmd).await?;
                let keys = probe_keys(&self.prefix, &slots);
                if keys.is_empty() {
                    // No slot is served: the cluster is down.
                    return Err(SessionError::Unavailable);
                }
                keys
            }
        };
        for key in keys {
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(key).arg(1).arg("PX").arg(10_000);
            let _: Value = self.query(cmd).await?;
        }
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.evicting_policies",
        skip_all,
        fields(store = "redis")
    )]
    async fn evicting_policies(&self) -> Result<Vec<String>, SessionError> {
        // INFO (not CONFIG GET, which managed Redis services often rename away); in a cluster
        // it goes to every primary and answers a map of node -> text.
        let mut cmd = ::redis::cmd("INFO");
        cmd.arg("memory");
        let info: Value = self.query(cmd).await?;
        let mut found = Vec::new();
        collect_policies(&info, None, &mut found)?;
        if found.is_empty() {
            // An INFO without the field cannot vouch for anything.
            return Err(SessionError::Corrupt);
        }
        Ok(found
            .into_iter()
            .filter(|(_, policy)| policy != "noeviction")
            .map(|(node, policy)| match node {
                Some(n) => format!("{policy} on {n}"),
                None => policy,
            })
            .collect())
    }

    fn worker_handle(&self) -> Option<std::sync::Arc<dyn SessionStore>> {
        Some(std::sync::Arc::new(self.fork()))
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.subscribe_revocations",
        skip_all,
        fields(store = "redis")
    )]
    async fn subscribe_revocations(&self) -> Result<Option<RevocationFeed>, SessionError> {
        let channel = self.revocation_channel();
        let servers = match self.target {
            Target::Standalone(_) => self.pubsub.clone(),
            // Every primary: a revocation is published by the primary that holds its key, and
            // reaches that node's own subscribers directly (the cluster bus relays it to the
            // other nodes too, but that has been seen to lag by seconds under load).
            Target::Cluster(_) => self.primaries().await?,
        };
        let mut subs = Vec::with_capacity(servers.len());
        // Connections of their own (a subscribed connection can do nothing else), all within
        // the timeout.
        let subscribed = tokio::time::timeout(self.timeout, async {
            for client in &servers {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                subs.push(pubsub.split());
            }
            Ok::<_, RedisError>(())
        })
        .await;
        match subscribed {
            Ok(Ok(())) if !subs.is_empty() => Ok(Some(RevocationFeed::redis(
                subs,
                FEED_PING_EVERY,
                self.timeout,
            ))),
            Ok(Ok(())) => Err(SessionError::Unavailable),
            Ok(Err(e)) => Err(store_error(&e)),
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis(),
                    "session store timeout (revocation feed)"
                );
                Err(SessionError::Unavailable)
            }
        }
    }
}

/// The most primaries a revocation feed subscribes to (Redis Cluster's own practical limit is
/// about 1,000 nodes; a feed holds a connection to each).
const MAX_FEED_PRIMARIES: usize = 256;

impl RedisStore {
    /// A client for each primary of the cluster, from `CLUSTER SLOTS` as the first seed node
    /// that answers within the timeout sees it; each keeps the seed's credentials and TLS.
    async fn primaries(&self) -> Result<Vec<::redis::Client>, SessionError> {
        for seed in &self.pubsub {
            let answer = tokio::time::timeout(self.timeout, async {
                let mut conn = seed.get_multiplexed_async_connection().await?;
                ::redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<Value>(&mut conn)
                    .await
            })
            .await;
            let slots = match answer {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    store_error(&e);
                    continue;
                }
                Err(_) => continue,
            };
            let mut clients = Vec::new();
            for (host, port) in primaries_of(&slots).into_iter().take(MAX_FEED_PRIMARIES) {
                let mut info = seed.get_connection_info().clone();
                info.addr = match info.addr {
                    ::redis::ConnectionAddr::TcpTls {
                        insecure,
                        tls_params,
                        ..
                    } => ::redis::ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure,
                        tls_params,
                    },
                    _ => ::redis::ConnectionAddr::Tcp(host, port),
                };
                clients.push(::redis::Client::open(info).map_err(|e| store_error(&e))?);
            }
            if !clients.is_empty() {
                return Ok(clients);
            }
        }
        Err(SessionError::Unavailable)
    }
}

/// Redis Cluster's slot of a key without a hash tag (or of a hash tag's text).
fn key_slot(key: &str) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(key.as_bytes()) % 16_384
}

/// One readiness key per primary of a `CLUSTER SLOTS` answer: `Preadyz-N`, with the first `N`
/// whose slot falls in the primary's first range (a range of one slot takes ~16k tries, well
/// under a millisecond). Every slot range is checked, so a slot no primary serves shows as a
/// missing key (and the probe of a cluster that serves none is empty).
fn probe_keys(prefix: &str, slots: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    let mut seen: Vec<(String, u16)> = Vec::new();
    let Value::Array(ranges) = slots else {
        return keys;
    };
    for range in ranges {
        let Value::Array(parts) = range else {
            continue;
        };
        let (Some(Value::Int(start)), Some(Value::Int(end))) = (parts.first(), parts.get(1)) else {
            continue;
        };
        let Some(primary) = primaries_of(&Value::Array(vec![range.clone()])).pop() else {
            continue;
        };
        if seen.contains(&primary) {
            continue;
        }
        let (Ok(start), Ok(end)) = (u16::try_from(*start), u16::try_from(*end)) else {
            continue;
        };
        if let Some(key) = (0..1u32 << 20)
            .map(|n| format!("{prefix}readyz-{n}"))
            .find(|k| (start..=end).contains(&key_slot(k)))
        {
            seen.push(primary);
            keys.push(key);
        }
    }
    keys
}

/// The primaries' `(host, port)` in a `CLUSTER SLOTS` answer (each slot range:
/// `[start, end, [host, port, id, ...], replicas...]`), each once.
fn primaries_of(slots: &Value) -> Vec<(String, u16)> {
    let mut found: Vec<(String, u16)> = Vec::new();
    let Value::Array(ranges) = slots else {
        return found;
    };
    for range in ranges {
        let Value::Array(parts) = range else {
            continue;
        };
        let Some(Value::Array(primary)) = parts.get(2) else {
            continue;
        };
        let host = match primary.first() {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::SimpleString(s)) => s.clone(),
            _ => continue,
        };
        let Some(Value::Int(port)) = primary.get(1) else {
            continue;
        };
        let Ok(port) = u16::try_from(*port) else {
            continue;
        };
        if !host.is_empty() && !found.iter().any(|(h, p)| *h == host && *p == port) {
            found.push((host, port));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readiness_key_on_every_primary() {
        // Redis's own examples: CLUSTER KEYSLOT "somekey" is 11058, "foo" 12182.
        assert_eq!(key_slot("somekey"), 11_058);
        assert_eq!(key_slot("foo"), 12_182);
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
            ])
        };
        let range = |a: i64, b: i64, port: i64| {
            Value::Array(vec![Value::Int(a), Value::Int(b), node(port)])
        };
        let slots = Value::Array(vec![
            range(0, 5460, 7101),
            range(5461, 10922, 7102),
            range(10923, 16382, 7103),
            range(16383, 16383, 7101),
            range(7, 7, 7104),
        ]);
        let keys = probe_keys("p:", &slots);
        assert_eq!(keys.len(), 4);
        let slot = |i: usize| keys.get(i).map(|k| key_slot(k));
        assert!(slot(0).is_some_and(|s| s <= 5460));
        assert!(slot(1).is_some_and(|s| (5461..=10922).contains(&s)));
        assert!(slot(2).is_some_and(|s| (10923..=16382).contains(&s)));
        assert_eq!(slot(3), Some(7));
        assert!(keys.iter().all(|k| k.starts_with("p:readyz-")));
    }

    #[test]
    fn primaries_from_cluster_slots() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |a: i64, b: i64, primary: Value, replica: Value| {
            Value::Array(vec![Value::Int(a), Value::Int(b), primary, replica])
        };
        let slots = Value::Array(vec![
            range(0, 5460, node("10.0.0.1", 7001), node("10.0.0.4", 7004)),
            range(5461, 10922, node("10.0.0.2", 7002), node("10.0.0.5", 7005)),
            range(10923, 12000, node("10.0.0.3", 7003), node("10.0.0.6", 7006)),
            // A primary with two ranges is named once.
            range(12001, 16383, node("10.0.0.1", 7001), node("10.0.0.4", 7004)),
            // Nonsense is skipped.
            Value::Int(3),
            range(1, 2, node("10.0.0.9", 70_000), Value::Nil),
        ]);
        assert_eq!(
            primaries_of(&slots),
            vec![
                ("10.0.0.1".to_owned(), 7001),
                ("10.0.0.2".to_owned(), 7002),
                ("10.0.0.3".to_owned(), 7003)
            ]
        );
        assert!(primaries_of(&Value::Nil).is_empty());
    }

    #[test]
    fn key_layout() {
        let store =
            RedisStore::standalone("redis://127.0.0.1:6379", RedisOptions::default()).unwrap();
        let id = AccessKeyId::parse("ASIAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(
            store.session_key(&id),
            "idbroker:{ASIAAAAAAAAAAAAAAAAA}:session"
        );
        let once = store.once_key("saml", "_id{evil}");
        assert!(once.starts_with("idbroker:once:saml:"));
        assert!(!once.contains('{'));
        assert_eq!(once.len(), "idbroker:once:saml:".len() + 64);
        assert_eq!(store.revocation_channel(), "idbroker:revocations");
        let mark = store.revocation_key(&RevocationScope::Role("arn:aws:iam::1:role/{x}/R".into()));
        assert!(mark.starts_with("idbroker:revoked-before:role:"));
        assert!(!mark.contains('{'));
        assert_ne!(
            store.revocation_key(&RevocationScope::Role("a".into())),
            store.revocation_key(&RevocationScope::Principal("a".into()))
        );
    }

    #[test]
    fn bad_options_are_refused_without_io() {
        let bad_prefix = RedisOptions {
            prefix: "x{y}:".into(),
            ..RedisOptions::default()
        };
        assert!(RedisStore::standalone("redis://127.0.0.1", bad_prefix).is_err());
        let zero = RedisOptions {
            timeout: Duration::ZERO,
            ..RedisOptions::default()
        };
        assert!(RedisStore::standalone("redis://127.0.0.1", zero).is_err());
        assert_eq!(
            RedisStore::standalone("nope://x", RedisOptions::default()).err(),
            Some(SessionError::Invalid("store url"))
        );
        let none: [&str; 0] = [];
        assert!(RedisStore::cluster(&none, RedisOptions::default()).is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let store =
            RedisStore::standalone("redis://:hunter2@127.0.0.1:6379", RedisOptions::default())
                .unwrap();
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        let store = RedisStore::cluster(
            &["redis://:hunter2@127.0.0.1:7101"],
            RedisOptions::default(),
        )
        .unwrap();
        assert!(!format!("{store:?}").contains("hunter2"));
    }
}

/// The `maxmemory_policy` of each `INFO memory` text in `v` (a text, or a cluster's map of node
/// to text), with the node it came from.
fn collect_policies(
    v: &Value,
    node: Option<String>,
    out: &mut Vec<(Option<String>, String)>,
) -> Result<(), SessionError> {
    match v {
        Value::BulkString(b) => {
            let text = std::str::from_utf8(b).map_err(|_| SessionError::Corrupt)?;
            out.extend(maxmemory_policy(text).map(|p| (node, p.to_owned())));
        }
        Value::VerbatimString { text, .. } | Value::SimpleString(text) => {
            out.extend(maxmemory_policy(text).map(|p| (node, p.to_owned())));
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let name = match k {
                    Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    Value::SimpleString(s) => s.clone(),
                    _ => return Err(SessionError::Corrupt),
                };
                collect_policies(v, Some(name), out)?;
            }
        }
        _ => return Err(SessionError::Corrupt),
    }
    Ok(())
}

/// `maxmemory_policy:VALUE` in an `INFO` text.
fn maxmemory_policy(info: &str) -> Option<&str> {
    info.lines()
        .find_map(|l| l.strip_prefix("maxmemory_policy:"))
        .map(str::trim)
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn policies_from_info_texts_and_cluster_maps() {
        let info = "# Memory\r\nused_memory:1\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(maxmemory_policy(info), Some("allkeys-lru"));
        assert_eq!(maxmemory_policy("# Memory\r\nused_memory:1\r\n"), None);
        let mut out = Vec::new();
        let map = Value::Map(vec![
            (
                Value::BulkString(b"127.0.0.1:7001".to_vec()),
                Value::BulkString(b"maxmemory_policy:noeviction\r\n".to_vec()),
            ),
            (
                Value::BulkString(b"127.0.0.1:7002".to_vec()),
                Value::VerbatimString {
                    format: ::redis::VerbatimFormat::Text,
                    text: "maxmemory_policy:volatile-lru\r\n".into(),
                },
            ),
        ]);
        collect_policies(&map, None, &mut out).unwrap_or_default();
        assert_eq!(
            out,
            vec![
                (Some("127.0.0.1:7001".into()), "noeviction".into()),
                (Some("127.0.0.1:7002".into()), "volatile-lru".into()),
            ]
        );
        assert!(collect_policies(&Value::Int(1), None, &mut out).is_err());
    }
}
