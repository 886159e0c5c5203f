//! The verifier's session cache: each session read from the store ([`OpenedSession`]: the
//! record, its secret opened, its revocation state) with its compiled policies, for
//! [`VerifierOptions::cache_ttl`](crate::VerifierOptions::cache_ttl); the signing key of the
//! scope it last signed for; evictions by the revocation feed (`follow.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use idbroker_policy::Context;
use idbroker_session::{
    AccessKeyId, Credential, OpenedSession, Refusal, RevocationEvent, Secret, SecretAccessKey,
};
use idbroker_sigv4::{ParsedRequest, SigV4Error, SigningKey, Verified};

use crate::authorize::{base_context, session_policies, SessionPolicies};
use crate::caller::{identity_of, CallerIdentity};
use crate::{Skew, Verifier, VerifyError};

/// A cached session: the session as read (record, opened secret, revocation state) and its
/// compiled policies, as of `fetched_at`; and the signing key of the scope it last signed for.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) opened: OpenedSession,
    /// The SigV4 signing key of the last (date, region, service) a request of this session
    /// verified with: most sessions sign for one scope a day, so the four-HMAC derivation is
    /// done once per entry instead of once per request.
    signing_key: RwLock<Option<SigningKey>>,
    pub(crate) identity: Arc<CallerIdentity>,
    pub(crate) policies: Arc<SessionPolicies>,
    pub(crate) base_context: Arc<Context>,
    fetched_at: SystemTime,
}

/// The session cache, shared with the task that follows the revocation feed.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    /// Moved on (under the write lock) by every eviction. A fill keeps its entry only if the
    /// generation is the one it saw before reading the store: a read that may predate a
    /// revocation is never cached after that revocation's eviction.
    pub(crate) generation: AtomicU64,
    /// The revocation feed is connected.
    pub(crate) feed_up: AtomicBool,
    /// Revocations applied from the feed.
    pub(crate) revocations_seen: AtomicU64,
}

impl Cache {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget everything.
    pub(crate) fn clear(&self) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Drop the sessions a revocation may concern.
    pub(crate) fn evict(&self, event: &RevocationEvent) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match event {
            RevocationEvent::Session(id) => {
                entries.remove(id.as_str());
            }
            RevocationEvent::Scope(scope) => {
                entries.retain(|_, e| !e.opened.session().in_scope(scope))
            }
        }
        drop(entries);
        self.revocations_seen.fetch_add(1, Ordering::AcqRel);
    }
}

impl Entry {
    /// Verify the signature with the cached signing key of its scope, or derive the key (and
    /// keep it once a request has verified with it, so forgeries cannot churn the cache).
    fn verify_signature(
        &self,
        request: ParsedRequest<'_>,
        secret: &SecretAccessKey,
        now: u64,
        skew: Skew,
        lifetime: Option<u64>,
    ) -> Result<Verified, SigV4Error> {
        let check = |request: ParsedRequest<'_>, key: &SigningKey| match lifetime {
            Some(l) => request.verify_for_lifetime(key, now, skew, l),
            None => request.verify(key, now, skew),
        };
        {
            let cached = self.signing_key.read().unwrap_or_else(|e| e.into_inner());
            if let Some(key) = cached.as_ref().filter(|k| k.fits(request.signature())) {
                return check(request, key);
            }
        }
        let key = SigningKey::for_signature(secret.expose_secret(), request.signature())?;
        let verified = check(request, &key)?;
        *self.signing_key.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
        Ok(verified)
    }
}

/// A SigV4-signed request as the credential of a cached session: its session token, and its
/// signature checked with the entry's signing key of its scope.
pub(crate) struct SignedRequest<'r, 'e> {
    pub(crate) request: ParsedRequest<'r>,
    pub(crate) entry: &'e Entry,
    pub(crate) now: u64,
    pub(crate) skew: Skew,
    /// A presigned request's fixed validity (k8s tokens).
    pub(crate) lifetime: Option<u64>,
}

impl Credential for SignedRequest<'_, '_> {
    type Proof = Verified;
    type Error = SigV4Error;

    fn session_token(&self) -> Option<&str> {
        self.request.signature().security_token()
    }

    fn prove(self, secret: Secret<'_>) -> Result<Verified, Refusal<SigV4Error>> {
        secret.check(|secret| {
            self.entry
                .verify_signature(self.request, secret, self.now, self.skew, self.lifetime)
        })
    }
}

impl Verifier {
    /// The cached session of `key_id`, or read it from the store.
    pub(crate) async fn entry(
        &self,
        key_id: &AccessKeyId,
        now: SystemTime,
    ) -> Result<Arc<Entry>, VerifyError> {
        let ttl = self.options.cache_ttl;
        let fresh = |e: &Entry| now.duration_since(e.fetched_at).is_ok_and(|age| age < ttl);
        {
            let cache = self.cache.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = cache.get(key_id.as_str()) {
                if fresh(e) {
                    return Ok(e.clone());
                }
            }
        }
        // A read that raced with a revocation is not cached; it is read again (once), so that
        // the answer reflects the revocation the feed just announced.
        let mut raced = false;
        loop {
            let generation = self.cache.generation.load(Ordering::Acquire);
            let entry = self.read_entry(key_id, now).await?;
            let mut cache = self.cache.write();
            if self.cache.generation.load(Ordering::Acquire) != generation {
                drop(cache);
                if raced {
                    return Ok(entry);
                }
                raced = true;
                continue;
            }
            if cache.len() >= self.options.cache_capacity {
                cache.retain(|_, e| fresh(e));
                if cache.len() >= self.options.cache_capacity {
                    if let Some(k) = cache.keys().next().cloned() {
                        cache.remove(&k);
                    }
                }
            }
            if self.options.cache_capacity > 0 {
                cache.insert(key_id.as_str().to_owned(), entry.clone());
            }
            return Ok(entry);
        }
    }

    /// Read `key_id`'s session from the store: record, revocation state, secret, policies.
    async fn read_entry(
        &self,
        key_id: &AccessKeyId,
        now: SystemTime,
    ) -> Result<Arc<Entry>, VerifyError> {
        // Store trouble: fail closed. A secret sealed with a key this verifier does not have
        // verifies nothing.
        let opened = OpenedSession::read::<SigV4Error>(
            self.store.as_ref(),
            &self.options.sealing_keys,
            key_id,
        )
        .await?;
        let session = opened.session();
        let identity = Arc::new(identity_of(session));
        let policies = Arc::new(session_policies(&self.options.policies, session));
        let base_context = Arc::new(base_context(&identity));
        Ok(Arc::new(Entry {
            opened,
            signing_key: RwLock::new(None),
            identity,
            policies,
            base_context,
            fetched_at: now,
        }))
    }
}
