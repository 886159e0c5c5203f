//! The in-process store.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::{broadcast, Mutex};

use super::feed::{RevocationEvent, RevocationFeed};
use super::page::{check_page_size, page_of, ListPosition, SessionPage};
use super::rate::{check_buckets, Admission, LocalBuckets, RateBucket};
use super::{
    check_handoff, check_namespace, check_new_session, check_once_id, remaining, SessionStore,
};
use crate::credentials::AccessKeyId;
use crate::session::{RevocationScope, Session};
use crate::SessionError;

/// An in-process store, for development, the demo and tests.
///
/// **Single process only**: it is not shared between replicas (a SAML assertion replayed against
/// another replica is not caught, a session issued by one replica is unknown to the others) and
/// it forgets everything on restart. The server logs a warning when it runs on it.
///
/// Expiry follows the times passed in: expired entries are invisible at once and are dropped
/// on later writes. Revocations are announced to subscribers in this process (a broadcast
/// channel of 1,024 messages; a subscriber that falls further behind is told it lost
/// the feed).
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    events: broadcast::Sender<RevocationEvent>,
    /// Rate-limit buckets (a lock of their own, held for a few map lookups).
    buckets: LocalBuckets,
}

/// How many revocations a slow subscriber may fall behind before it is told it lost the feed.
const EVENT_BUFFER: usize = 1024;

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            events: broadcast::channel(EVENT_BUFFER).0,
            buckets: LocalBuckets::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<AccessKeyId, Session>,
    /// Revoked access key ids, until the session would have expired.
    tombstones: HashMap<AccessKeyId, u64>,
    /// (namespace, id) → until.
    once: HashMap<(String, String), u64>,
    handoffs: HashMap<(String, String), (u64, Vec<u8>)>,
    /// scope → (revoked before, kept until).
    marks: HashMap<RevocationScope, (u64, u64)>,
    /// The `now` of the last prune.
    pruned_at: u64,
}

impl Inner {
    /// Drop what has expired, at most once per second of `now`: a sweep is linear in what is
    /// held, so sweeping on every write made issuance quadratic (it was 44% of the CPU of an
    /// AssumeRole load). Reads filter expired entries themselves, so a late sweep is invisible.
    fn prune(&mut self, now: u64) {
        if now == self.pruned_at {
            return;
        }
        self.pruned_at = now;
        self.sessions.retain(|_, s| !s.is_expired(now));
        self.tombstones.retain(|_, until| *until > now);
        self.once.retain(|_, until| *until > now);
        self.handoffs.retain(|_, (until, _)| *until > now);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions it holds, expired ones not yet dropped included.
    pub async fn len(&self) -> usize {
        self.inner.lock().await.sessions.len()
    }

    /// Does it hold no session?
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    fn announce(&self, event: RevocationEvent) {
        // No subscriber is not an error: nobody caches.
        let _ = self.events.send(event);
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    #[tracing::instrument(
        level = "debug",
        name = "store.put",
        skip_all,
        fields(store = "memory")
    )]
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError> {
        check_new_session(session, now)?;
        let mut inner = self.inner.lock().await;
        inner.prune(now);
        let id = &session.access_key_id;
        // Expiry is checked here, not left to the sweep, which runs at most once a second.
        if inner.sessions.get(id).is_some_and(|s| !s.is_expired(now))
            || inner.tombstones.get(id).is_some_and(|u| *u > now)
        {
            return Err(SessionError::Replay);
        }
        inner.sessions.insert(id.clone(), session.clone());
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.get",
        skip_all,
        fields(store = "memory")
    )]
    async fn get(
        &self,
        access_key_id: &AccessKeyId,
        now: u64,
    ) -> Result<Option<Session>, SessionError> {
        let inner = self.inner.lock().await;
        Ok(inner
            .sessions
            .get(access_key_id)
            .filter(|s| !s.is_expired(now))
            .cloned())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.delete",
        skip_all,
        fields(store = "memory")
    )]
    async fn delete(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError> {
        self.inner.lock().await.sessions.remove(access_key_id);
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.revoke",
        skip_all,
        fields(store = "memory")
    )]
    async fn revoke(&self, access_key_id: &AccessKeyId) -> Result<(), SessionError> {
        let mut inner = self.inner.lock().await;
        let session = inner
            .sessions
            .remove(access_key_id)
            .ok_or(SessionError::NotFound)?;
        inner
            .tombstones
            .insert(access_key_id.clone(), session.expires_at);
        drop(inner);
        self.announce(RevocationEvent::Session(access_key_id.clone()));
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.set_revoked_before",
        skip_all,
        fields(store = "memory")
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
        let until = at.saturating_add(ttl_secs);
        let mut inner = self.inner.lock().await;
        // Marks past their lifetime are inert (every session they could reject has expired);
        // the mark's own time serves as the clock to drop them.
        inner.marks.retain(|_, (_, kept)| *kept > at);
        let entry = inner.marks.entry(scope.clone()).or_insert((at, until));
        entry.0 = entry.0.max(at);
        entry.1 = entry.1.max(until);
        drop(inner);
        self.announce(RevocationEvent::Scope(scope.clone()));
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.revoked_before",
        skip_all,
        fields(store = "memory")
    )]
    async fn revoked_before(&self, scope: &RevocationScope) -> Result<Option<u64>, SessionError> {
        Ok(self.inner.lock().await.marks.get(scope).map(|(at, _)| *at))
    }

    async fn list_sessions(
        &self,
        scope: &RevocationScope,
        after: Option<&ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<SessionPage, SessionError> {
        check_page_size(max)?;
        let inner = self.inner.lock().await;
        // A linear walk of the whole map: this store is for development and tests.
        let revoked = |s: &Session| {
            s.revocation_scopes().iter().any(|scope| {
                inner
                    .marks
                    .get(scope)
                    .is_some_and(|(at, _)| s.is_revoked_by(*at))
            })
        };
        let live = inner
            .sessions
            .values()
            .filter(|s| s.in_scope(scope) && !s.is_expired(now) && !revoked(s));
        Ok(page_of(live, after, max))
    }

    #[tracing::instrument(level = "debug", name = "store.use_once", skip_all, fields(store = "memory", namespace = %namespace))]
    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        check_namespace(namespace)?;
        check_once_id(id)?;
        remaining(until, now)?;
        let mut inner = self.inner.lock().await;
        inner.prune(now);
        let key = (namespace.to_owned(), id.to_owned());
        if inner.once.get(&key).is_some_and(|until| *until > now) {
            return Err(SessionError::Replay);
        }
        inner.once.insert(key, until);
        Ok(())
    }

    #[tracing::instrument(level = "debug", name = "store.put_handoff", skip_all, fields(store = "memory", namespace = %namespace))]
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
        remaining(until, now)?;
        let mut inner = self.inner.lock().await;
        inner.prune(now);
        let key = (namespace.to_owned(), id.to_owned());
        if inner
            .handoffs
            .get(&key)
            .is_some_and(|(until, _)| *until > now)
        {
            return Err(SessionError::Replay);
        }
        inner.handoffs.insert(key, (until, value.to_vec()));
        Ok(())
    }

    #[tracing::instrument(level = "debug", name = "store.take_handoff", skip_all, fields(store = "memory", namespace = %namespace))]
    async fn take_handoff(
        &self,
        namespace: &str,
        id: &str,
        now: u64,
    ) -> Result<Option<Vec<u8>>, SessionError> {
        check_namespace(namespace)?;
        check_once_id(id)?;
        let mut inner = self.inner.lock().await;
        inner.prune(now);
        let key = (namespace.to_owned(), id.to_owned());
        Ok(inner
            .handoffs
            .remove(&key)
            .filter(|(until, _)| *until > now)
            .map(|(_, value)| value))
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.admit",
        skip_all,
        fields(store = "memory")
    )]
    async fn admit(&self, buckets: &[RateBucket], now_us: u64) -> Result<Admission, SessionError> {
        check_buckets(buckets)?;
        Ok(self.buckets.admit(buckets, now_us))
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.ping",
        skip_all,
        fields(store = "memory")
    )]
    async fn ping(&self) -> Result<(), SessionError> {
        Ok(())
    }

    #[tracing::instrument(
        level = "debug",
        name = "store.subscribe_revocations",
        skip_all,
        fields(store = "memory")
    )]
    async fn subscribe_revocations(&self) -> Result<Option<RevocationFeed>, SessionError> {
        Ok(Some(RevocationFeed::memory(self.events.subscribe())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{SecretAccessKey, SessionToken};
    use crate::seal::SealingKeys;
    use crate::session::{PolicyRefs, Principal, PrincipalKind};

    fn session(issued_at: u64, lifetime: u64) -> Session {
        let keys = SealingKeys::new("k", &[1u8; 32]).unwrap();
        let id = AccessKeyId::generate_temporary().unwrap();
        Session {
            secret: keys
                .seal(&SecretAccessKey::generate().unwrap(), &id)
                .unwrap(),
            access_key_id: id,
            token_hash: SessionToken::generate().unwrap().hash(),
            principal: Principal {
                kind: PrincipalKind::User,
                arn: "arn:aws:iam::123456789012:user/bob".into(),
                principal_id: "AIDAEXAMPLE".into(),
                account: "123456789012".into(),
                role_arn: None,
                session_name: None,
                source_identity: None,
                tags: vec![],
                transitive_tag_keys: vec![],
                user_name: Some("bob".into()),
            },
            policies: PolicyRefs::default(),
            issued_at,
            expires_at: issued_at + lifetime,
            mfa: false,
            mfa_authenticated_at: None,
            chained_from: None,
        }
    }

    #[tokio::test]
    async fn expired_entries_are_dropped_on_later_writes() {
        let store = MemoryStore::new();
        let a = session(1000, 900);
        store.put(&a, 1000).await.unwrap();
        assert_eq!(store.len().await, 1);
        let b = session(2000, 900);
        store.put(&b, 2000).await.unwrap();
        assert_eq!(store.len().await, 1, "a expired at 1900 and was dropped");
        assert!(store.get(&a.access_key_id, 1000).await.unwrap().is_none());
        // Single-use ids come back once their time is over.
        store.use_once("jti", "x", 2010, 2000).await.unwrap();
        store.use_once("jti", "x", 2030, 2010).await.unwrap();
        assert!(!store.is_empty().await);
    }

    #[tokio::test]
    async fn expiry_holds_between_sweeps() {
        // The sweep runs at most once per second of `now`; expiry must hold whatever its schedule.
        let store = MemoryStore::new();
        store.use_once("jti", "x", 2001, 2000).await.unwrap();
        store.use_once("jti", "y", 2005, 2000).await.unwrap();
        assert_eq!(
            store.use_once("jti", "x", 2010, 2000).await,
            Err(SessionError::Replay)
        );
        // At 2001, x's time is over: usable again; y's is not.
        store.use_once("jti", "x", 2010, 2001).await.unwrap();
        store.use_once("jti", "z", 2010, 2001).await.unwrap();
        assert_eq!(
            store.use_once("jti", "y", 2010, 2001).await,
            Err(SessionError::Replay)
        );
    }

    #[tokio::test]
    async fn tombstones_end_with_the_session() {
        let store = MemoryStore::new();
        let a = session(1000, 900);
        store.put(&a, 1000).await.unwrap();
        store.revoke(&a.access_key_id).await.unwrap();
        assert_eq!(store.put(&a, 1000).await, Err(SessionError::Replay));
        let mut later = a.clone();
        later.expires_at = 5000;
        store.put(&later, 1900).await.unwrap();
    }

    #[tokio::test]
    async fn revocations_are_announced() {
        use super::super::feed::FeedNews;
        let store = MemoryStore::new();
        let mut feed = store.subscribe_revocations().await.unwrap().unwrap();
        let a = session(1000, 900);
        store.put(&a, 1000).await.unwrap();
        store.revoke(&a.access_key_id).await.unwrap();
        // Revoking nothing announces nothing.
        assert_eq!(
            store.revoke(&a.access_key_id).await,
            Err(SessionError::NotFound)
        );
        let role = RevocationScope::Role("arn:aws:iam::1:role/A".into());
        store.set_revoked_before(&role, 1000, 60).await.unwrap();
        assert_eq!(
            feed.next().await,
            FeedNews::Revoked(RevocationEvent::Session(a.access_key_id.clone()))
        );
        assert_eq!(
            feed.next().await,
            FeedNews::Revoked(RevocationEvent::Scope(role))
        );
    }

    #[tokio::test]
    async fn stale_marks_are_dropped() {
        let store = MemoryStore::new();
        let role = RevocationScope::Role("arn:aws:iam::1:role/A".into());
        let other = RevocationScope::Role("arn:aws:iam::1:role/B".into());
        store.set_revoked_before(&role, 100, 50).await.unwrap();
        store.set_revoked_before(&other, 200, 50).await.unwrap();
        assert_eq!(store.revoked_before(&role).await.unwrap(), None);
        assert_eq!(store.revoked_before(&other).await.unwrap(), Some(200));
        assert!(store.set_revoked_before(&other, 200, 0).await.is_err());
    }
}
