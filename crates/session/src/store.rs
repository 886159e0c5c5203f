//! Session stores: Redis (shared by every replica) and in-memory (one process, for development).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::{Session, SessionError};

/// Where sessions live. Every method fails closed: an error means nothing was stored, nothing
/// is known, and the caller must not issue or accept credentials.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Store a session until it expires. Returns only once the store has accepted it.
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError>;
    /// The session of an access key id; `None` when unknown or expired at `now`.
    async fn get(&self, access_key_id: &str, now: u64) -> Result<Option<Session>, SessionError>;
    /// Forget a session (revocation, sign-out).
    async fn delete(&self, access_key_id: &str) -> Result<(), SessionError>;
    /// Record `id` in `namespace` (`saml`, `jti`) until `until`; [`SessionError::Replay`] if it
    /// is there already. One winner across all replicas.
    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError>;
    /// Is the store answering?
    async fn ping(&self) -> Result<(), SessionError>;
}

fn ttl(until: u64, now: u64) -> Result<u64, SessionError> {
    match until.checked_sub(now) {
        Some(t) if t > 0 => Ok(t),
        _ => Err(SessionError::Expired),
    }
}

/// In this process only: forgets everything on restart and is not shared between replicas.
/// Meant for development and the demo; the server warns when it runs on it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, Session>>,
    once: Mutex<HashMap<String, u64>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError> {
        ttl(session.expires_at, now)?;
        let mut map = self.sessions.lock().await;
        // Expired records are dropped on the way, so the map stays bounded by live sessions.
        map.retain(|_, s| !s.is_expired(now));
        map.insert(session.access_key_id.clone(), session.clone());
        Ok(())
    }

    async fn get(&self, access_key_id: &str, now: u64) -> Result<Option<Session>, SessionError> {
        let map = self.sessions.lock().await;
        Ok(map
            .get(access_key_id)
            .filter(|s| !s.is_expired(now))
            .cloned())
    }

    async fn delete(&self, access_key_id: &str) -> Result<(), SessionError> {
        self.sessions.lock().await.remove(access_key_id);
        Ok(())
    }

    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        ttl(until, now)?;
        let mut map = self.once.lock().await;
        map.retain(|_, u| *u > now);
        let key = format!("{namespace}:{id}");
        if map.contains_key(&key) {
            return Err(SessionError::Replay);
        }
        map.insert(key, until);
        Ok(())
    }

    async fn ping(&self) -> Result<(), SessionError> {
        Ok(())
    }
}

/// A standalone Redis. Keys live under a prefix; every key of one session carries the session's
/// access key id as a hash tag (`{ASIA...}`), so they stay in one slot if the data moves to a
/// cluster. Each operation is bounded by a timeout; a timeout or connection error is
/// [`SessionError::Unavailable`].
#[derive(Clone)]
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStore {
    /// Connect to `url` (`redis://host:port/db`). Fails with `Unavailable` if Redis does not
    /// answer within `timeout`.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, SessionError> {
        let client = redis::Client::open(url).map_err(|_| SessionError::Unavailable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            timeout,
            redis::aio::ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| SessionError::Unavailable)?
        .map_err(|_| SessionError::Unavailable)?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
            timeout,
        })
    }

    /// The key of a session record.
    pub fn session_key(&self, access_key_id: &str) -> String {
        format!("{}{{{access_key_id}}}:session", self.prefix)
    }

    fn once_key(&self, namespace: &str, id: &str) -> String {
        format!("{}once:{namespace}:{id}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, SessionError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn))
            .await
            .map_err(|_| SessionError::Unavailable)?
            .map_err(|_| SessionError::Unavailable)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError> {
        let ttl = ttl(session.expires_at, now)?;
        let json = serde_json::to_string(session).map_err(|_| SessionError::Corrupt)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.session_key(&session.access_key_id))
            .arg(json)
            .arg("EX")
            .arg(ttl);
        let ok: String = self.run(cmd).await?;
        if ok == "OK" {
            Ok(())
        } else {
            Err(SessionError::Unavailable)
        }
    }

    async fn get(&self, access_key_id: &str, now: u64) -> Result<Option<Session>, SessionError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.session_key(access_key_id));
        let raw: Option<String> = self.run(cmd).await?;
        let Some(raw) = raw else { return Ok(None) };
        let session: Session = serde_json::from_str(&raw).map_err(|_| SessionError::Corrupt)?;
        // The record must be the one asked for, and alive by our clock, not only by Redis's.
        if session.access_key_id != access_key_id || session.is_expired(now) {
            return Ok(None);
        }
        Ok(Some(session))
    }

    async fn delete(&self, access_key_id: &str) -> Result<(), SessionError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.session_key(access_key_id));
        let _: i64 = self.run(cmd).await?;
        Ok(())
    }

    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        let ttl = ttl(until, now)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.once_key(namespace, id))
            .arg(now)
            .arg("NX")
            .arg("EX")
            .arg(ttl);
        let set: Option<String> = self.run(cmd).await?;
        match set.as_deref() {
            Some("OK") => Ok(()),
            _ => Err(SessionError::Replay),
        }
    }

    async fn ping(&self) -> Result<(), SessionError> {
        let pong: String = self.run(redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(SessionError::Unavailable)
        }
    }
}
