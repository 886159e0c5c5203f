//! A session store for tests of store trouble: it answers like the store it wraps, except for
//! the operations switched off, which fail with `SessionError::Unavailable` (a Redis that went
//! away between two calls of one request), and, when asked, it hands out sessions the wrapped
//! store considers expired (a backend that still holds a record past its expiry).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use idbroker_session::{
    AccessKeyId, RevocationFeed, RevocationScope, Session, SessionError, SessionStore,
};

/// A store operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Put,
    Get,
    Delete,
    Revoke,
    SetRevokedBefore,
    RevokedBefore,
    UseOnce,
    Admit,
    Ping,
    ListSessions,
}

/// The admin tests' broker (tests/common/admin.rs) on the demo's memory store behind a
/// SwitchStore, its clock a ManualClock reading `at`. The test crate must declare `mod common`.
pub async fn admin_broker(
    at: std::time::SystemTime,
) -> (crate::common::admin::Broker, Arc<SwitchStore>) {
    let clock = Arc::new(idbroker::clock::ManualClock::new(at));
    let mut state = idbroker::build_state(crate::common::demo(), clock.clone())
        .await
        .unwrap();
    let store = SwitchStore::new(state.store.clone());
    state.store = store.clone();
    let url = crate::common::start(state.clone()).await;
    (crate::common::admin::Broker { url, clock, state }, store)
}

/// See the module documentation.
#[derive(Debug)]
pub struct SwitchStore {
    inner: Arc<dyn SessionStore>,
    down: Mutex<HashSet<Op>>,
    ignore_expiry: AtomicBool,
}

impl SwitchStore {
    pub fn new(inner: Arc<dyn SessionStore>) -> Arc<Self> {
        Arc::new(SwitchStore {
            inner,
            down: Mutex::default(),
            ignore_expiry: AtomicBool::new(false),
        })
    }

    /// Make `ops` fail (`down = true`) or work again.
    pub fn set(&self, ops: &[Op], down: bool) {
        let mut d = self.down.lock().unwrap();
        for op in ops {
            if down {
                d.insert(*op);
            } else {
                d.remove(op);
            }
        }
    }

    /// Everything works again.
    pub fn heal(&self) {
        self.down.lock().unwrap().clear();
    }

    /// `get` returns sessions whatever their expiry.
    pub fn ignore_expiry(&self, on: bool) {
        self.ignore_expiry.store(on, Ordering::SeqCst);
    }

    fn check(&self, op: Op) -> Result<(), SessionError> {
        if self.down.lock().unwrap().contains(&op) {
            Err(SessionError::Unavailable)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SessionStore for SwitchStore {
    async fn put(&self, session: &Session, now: u64) -> Result<(), SessionError> {
        self.check(Op::Put)?;
        self.inner.put(session, now).await
    }
    async fn get(&self, id: &AccessKeyId, now: u64) -> Result<Option<Session>, SessionError> {
        self.check(Op::Get)?;
        let now = if self.ignore_expiry.load(Ordering::SeqCst) {
            0
        } else {
            now
        };
        self.inner.get(id, now).await
    }
    async fn delete(&self, id: &AccessKeyId) -> Result<(), SessionError> {
        self.check(Op::Delete)?;
        self.inner.delete(id).await
    }
    async fn revoke(&self, id: &AccessKeyId) -> Result<(), SessionError> {
        self.check(Op::Revoke)?;
        self.inner.revoke(id).await
    }
    async fn set_revoked_before(
        &self,
        scope: &RevocationScope,
        at: u64,
        ttl_secs: u64,
    ) -> Result<(), SessionError> {
        self.check(Op::SetRevokedBefore)?;
        self.inner.set_revoked_before(scope, at, ttl_secs).await
    }
    async fn revoked_before(&self, scope: &RevocationScope) -> Result<Option<u64>, SessionError> {
        self.check(Op::RevokedBefore)?;
        self.inner.revoked_before(scope).await
    }
    async fn subscribe_revocations(&self) -> Result<Option<RevocationFeed>, SessionError> {
        self.inner.subscribe_revocations().await
    }
    async fn list_sessions(
        &self,
        scope: &RevocationScope,
        after: Option<&idbroker_session::ListPosition>,
        max: usize,
        now: u64,
    ) -> Result<idbroker_session::SessionPage, SessionError> {
        self.check(Op::ListSessions)?;
        self.inner.list_sessions(scope, after, max, now).await
    }
    async fn use_once(
        &self,
        namespace: &str,
        id: &str,
        until: u64,
        now: u64,
    ) -> Result<(), SessionError> {
        self.check(Op::UseOnce)?;
        self.inner.use_once(namespace, id, until, now).await
    }
    async fn admit(
        &self,
        b: &[idbroker_session::RateBucket],
        now: u64,
    ) -> Result<idbroker_session::Admission, SessionError> {
        self.check(Op::Admit)?;
        self.inner.admit(b, now).await
    }
    async fn ping(&self) -> Result<(), SessionError> {
        self.check(Op::Ping)?;
        self.inner.ping().await
    }
}
