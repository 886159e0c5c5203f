//! The verifier's cache of [`Grant`]s: per access key, the scopes (date, region, service) it
//! signed for, each with its signing key, the session token it was granted for, who the caller
//! is and its compiled policies. Evictions come from the source's event stream (`follow.rs`).
//!
//! How long an entry is used (the bound on how late a revocation is seen): while the event
//! stream is up, until the next event that concerns it (or [`VerifierOptions::max_age`]); while it
//! is down, [`VerifierOptions::cache_ttl`] (1 s) from when it was fetched. Every (re)connection of
//! the stream forgets everything, since revocations may have been missed meanwhile.
//!
//! [`VerifierOptions::max_age`]: crate::VerifierOptions::max_age
//! [`VerifierOptions::cache_ttl`]: crate::VerifierOptions::cache_ttl

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use idbroker_policy::Context;
use idbroker_session::{RevocationEvent, RevocationScope};
use idbroker_sigv4::{ParsedRequest, SigningKey, Verified};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::authorize::base_context;
use crate::caller::CallerIdentity;
use crate::source::{GrantPolicies, KeyAsk};
use crate::{Skew, Verifier, VerifyError};

/// A credential scope, as cached.
#[derive(Debug, PartialEq, Eq)]
struct Scope {
    date: String,
    region: String,
    service: String,
}

/// One granted scope of one access key.
pub(crate) struct Entry {
    scope: Scope,
    /// The scope's signing key (from the granted scope key).
    key: SigningKey,
    /// The session token the grant was made for (`None`: a long-term key). A request with
    /// another token is refused, whatever its signature.
    token: Option<Zeroizing<String>>,
    pub(crate) identity: Arc<CallerIdentity>,
    pub(crate) policies: Arc<GrantPolicies>,
    pub(crate) base_context: Arc<Context>,
    expires_at: u64,
    fetched_at: SystemTime,
}

// The key and the token are secrets.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("scope", &self.scope)
            .field("access_key_id", &self.identity.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The cache, shared with the task that follows the event stream.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Access key id -> its granted scopes.
    entries: RwLock<HashMap<String, Vec<Arc<Entry>>>>,
    /// Moved on (under the write lock) by every eviction. A fill keeps its entry only if the
    /// generation is the one it saw before asking the source: an answer that may predate a
    /// revocation is never cached after that revocation's eviction.
    pub(crate) generation: AtomicU64,
    /// The event stream is up (and idbroker's own feed behind it).
    pub(crate) feed_up: AtomicBool,
    /// Revocations applied from the stream.
    pub(crate) revocations_seen: AtomicU64,
    /// The last policy version the stream announced.
    pub(crate) policy_version: Mutex<Option<String>>,
    /// Cold lookups in flight, by [`flight_key`].
    flights: Mutex<HashMap<String, watch::Receiver<Shared>>>,
}

/// Is `id`'s session among those `scope` names?
fn in_scope(id: &CallerIdentity, scope: &RevocationScope) -> bool {
    match scope {
        RevocationScope::Role(r) => id.role_arn.as_deref() == Some(r.as_str()),
        RevocationScope::Principal(a) => id.arn == *a,
        RevocationScope::SourceIdentity(s) => id.source_identity.as_deref() == Some(s.as_str()),
    }
}

impl Cache {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Vec<Arc<Entry>>>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Forget everything.
    pub(crate) fn clear(&self) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Drop the entries a revocation may concern.
    pub(crate) fn evict(&self, event: &RevocationEvent) {
        let mut entries = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match event {
            RevocationEvent::Session(id) => {
                entries.remove(id.as_str());
            }
            RevocationEvent::Scope(scope) => {
                entries.retain(|_, scopes| {
                    scopes.retain(|e| !in_scope(&e.identity, scope));
                    !scopes.is_empty()
                });
            }
        }
        drop(entries);
        self.revocations_seen.fetch_add(1, Ordering::AcqRel);
    }

    /// A new policy version: forget everything if it is not the one known.
    pub(crate) fn policies(&self, version: String) {
        let mut known = self
            .policy_version
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if known.as_deref() != Some(version.as_str()) {
            if known.is_some() {
                self.clear();
            }
            *known = Some(version);
        }
    }
}

impl Entry {
    /// The checks of a request against this grant, in AWS's order: the session token
    /// (constant time), the signature with the scope's key, the expiry.
    fn check(
        &self,
        request: ParsedRequest<'_>,
        now: u64,
        skew: Skew,
        lifetime: Option<u64>,
    ) -> Result<Verified, VerifyError> {
        let presented = request.signature().security_token();
        let token_ok = match (&self.token, presented) {
            (None, None) => true,
            (Some(granted), Some(presented)) => {
                bool::from(granted.as_bytes().ct_eq(presented.as_bytes()))
            }
            _ => false,
        };
        if !token_ok {
            return Err(VerifyError::InvalidClientTokenId);
        }
        // INVARIANT: entries are found by their exact scope; a key that does not fit the
        // request's scope never verifies it.
        if !self.key.fits(request.signature()) {
            return Err(VerifyError::SignatureDoesNotMatch);
        }
        let verified = match lifetime {
            Some(l) => request.verify_for_lifetime(&self.key, now, skew, l),
            None => request.verify(&self.key, now, skew),
        }?;
        if now >= self.expires_at {
            return Err(VerifyError::ExpiredToken);
        }
        Ok(verified)
    }
}

impl Verifier {
    /// Verify `request` (its scope's service already checked) with the cached grant of its
    /// scope, or one asked of the source.
    pub(crate) async fn check_with_grant(
        &self,
        request: ParsedRequest<'_>,
        now: SystemTime,
        lifetime: Option<u64>,
    ) -> Result<(Arc<Entry>, Verified), VerifyError> {
        let now_s = crate::time::epoch(now);
        let entry = self.entry(&request, now).await?;
        let verified = entry.check(request, now_s, self.options.skew, lifetime)?;
        Ok((entry, verified))
    }

    /// The cached grant of `request`'s scope, or ask the source for it.
    async fn entry(
        &self,
        request: &ParsedRequest<'_>,
        now: SystemTime,
    ) -> Result<Arc<Entry>, VerifyError> {
        let sig = request.signature();
        let scope_of = |e: &Entry| {
            e.scope.date == sig.scope_date()
                && e.scope.region == sig.region()
                && e.scope.service == sig.service()
        };
        let feed_up = self.cache.feed_up.load(Ordering::Acquire);
        let (ttl, max_age) = (self.options.cache_ttl, self.options.max_age);
        let fresh = |e: &Entry| {
            let bound = if feed_up { max_age } else { ttl };
            now.duration_since(e.fetched_at)
                .is_ok_and(|age| age < bound)
        };
        {
            let cache = self.cache.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = cache
                .get(sig.access_key_id())
                .and_then(|scopes| scopes.iter().find(|e| scope_of(e)))
            {
                if fresh(e) {
                    return Ok(e.clone());
                }
            }
        }
        let ask = KeyAsk {
            access_key_id: sig.access_key_id(),
            session_token: sig.security_token(),
            date: sig.scope_date(),
            region: sig.region(),
            service: sig.service(),
            now,
        };
        // Concurrent cold lookups of one scope (and one session token) ask the source once: the
        // first asks, the others wait for its grant. Only a grant is shared: after a refusal
        // (or a first asker that went away) each asks for itself, so that a request with a wrong
        // token cannot make a concurrent right one fail.
        let flight_key = flight_key(&ask);
        match self.cache.join_flight(&flight_key) {
            Flight::Follower(mut rx) => {
                if let Ok(shared) = rx.wait_for(Option::is_some).await {
                    if let Some(Ok(entry)) = shared.as_ref() {
                        return Ok(entry.clone());
                    }
                }
                self.fill(&ask, now, &fresh).await
            }
            Flight::Leader(tx) => {
                let leader = FlightGuard {
                    cache: &self.cache,
                    key: flight_key,
                };
                let filled = self.fill(&ask, now, &fresh).await;
                // Told before the flight leaves the list: a lookup that joins in between reads
                // the outcome at once.
                let _ = tx.send(Some(filled.clone()));
                drop(leader);
                filled
            }
        }
    }

    /// Ask the source for `ask`'s grant and cache it (unless a revocation raced with it).
    async fn fill(
        &self,
        ask: &KeyAsk<'_>,
        now: SystemTime,
        fresh: &(impl Fn(&Entry) -> bool + ?Sized),
    ) -> Result<Arc<Entry>, VerifyError> {
        let scope_of = |e: &Entry| {
            e.scope.date == ask.date
                && e.scope.region == ask.region
                && e.scope.service == ask.service
        };
        // An answer that raced with a revocation is not cached; it is asked again (once), so
        // that the answer reflects the revocation the stream just announced.
        let mut raced = false;
        loop {
            let generation = self.cache.generation.load(Ordering::Acquire);
            let grant = self.source.grant(ask).await?;
            let key = SigningKey::from_scope_key(&grant.key, ask.date, ask.region, ask.service)?;
            let identity = Arc::new(grant.caller.identity);
            let entry = Arc::new(Entry {
                scope: Scope {
                    date: ask.date.to_owned(),
                    region: ask.region.to_owned(),
                    service: ask.service.to_owned(),
                },
                key,
                token: ask.session_token.map(|t| Zeroizing::new(t.to_owned())),
                base_context: Arc::new(base_context(&identity)),
                identity,
                policies: Arc::new(grant.caller.policies),
                expires_at: grant.expires_at,
                fetched_at: now,
            });
            let mut cache = self.cache.write();
            if self.cache.generation.load(Ordering::Acquire) != generation {
                drop(cache);
                if raced {
                    return Ok(entry);
                }
                raced = true;
                continue;
            }
            if self.options.cache_capacity == 0 {
                return Ok(entry);
            }
            let count: usize = cache.values().map(Vec::len).sum();
            if count >= self.options.cache_capacity {
                cache.retain(|_, scopes| {
                    scopes.retain(|e| fresh(e));
                    !scopes.is_empty()
                });
                let count: usize = cache.values().map(Vec::len).sum();
                if count >= self.options.cache_capacity {
                    if let Some(k) = cache.keys().next().cloned() {
                        cache.remove(&k);
                    }
                }
            }
            let scopes = cache.entry(ask.access_key_id.to_owned()).or_default();
            scopes.retain(|e| !scope_of(e));
            // A key signs for few scopes; an access key that asks for many keeps the newest.
            if scopes.len() >= MAX_SCOPES_PER_KEY {
                scopes.remove(0);
            }
            scopes.push(entry.clone());
            return Ok(entry);
        }
    }
}

/// What a cold lookup's outcome is shared as.
type Shared = Option<Result<Arc<Entry>, VerifyError>>;

/// A cold lookup of a scope: the first asks the source, the others wait for it.
pub(crate) enum Flight {
    /// This lookup asks; it tells the others through the sender.
    Leader(watch::Sender<Shared>),
    /// Another lookup is asking: wait for its outcome.
    Follower(watch::Receiver<Shared>),
}

/// The scope and (a hash of) the session token: lookups share a flight only when both match.
fn flight_key(ask: &KeyAsk<'_>) -> String {
    let token = ask
        .session_token
        .map(|t| data_hex(&Sha256::digest(t.as_bytes())))
        .unwrap_or_default();
    format!(
        "{}/{}/{}/{}/{token}",
        ask.access_key_id, ask.date, ask.region, ask.service
    )
}

fn data_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes a finished (or abandoned) flight off the list when dropped.
struct FlightGuard<'a> {
    cache: &'a Cache,
    key: String,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.cache
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl Cache {
    /// Join the cold lookup of `key` in flight, or start it.
    fn join_flight(&self, key: &str) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = flights.get(key) {
            return Flight::Follower(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(key.to_owned(), rx);
        Flight::Leader(tx)
    }
}

/// At most this many scopes are cached per access key.
const MAX_SCOPES_PER_KEY: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(arn: &str, role: Option<&str>, source: Option<&str>) -> CallerIdentity {
        CallerIdentity {
            access_key_id: "ASIAEXAMPLE".into(),
            kind: idbroker_session::PrincipalKind::AssumedRole,
            arn: arn.into(),
            user_id: "AROA:x".into(),
            account: "123456789012".into(),
            role_arn: role.map(Into::into),
            session_name: None,
            user_name: None,
            source_identity: source.map(Into::into),
            tags: Vec::new(),
            issued_at: None,
            expires_at: 0,
            mfa: false,
            mfa_authenticated_at: None,
        }
    }

    #[test]
    fn scopes_of_revocations() {
        let id = identity("arn:p", Some("arn:r"), Some("alice"));
        assert!(in_scope(&id, &RevocationScope::Role("arn:r".into())));
        assert!(!in_scope(&id, &RevocationScope::Role("arn:other".into())));
        assert!(in_scope(&id, &RevocationScope::Principal("arn:p".into())));
        assert!(in_scope(
            &id,
            &RevocationScope::SourceIdentity("alice".into())
        ));
        assert!(!in_scope(
            &id,
            &RevocationScope::SourceIdentity("bob".into())
        ));
        let none = identity("arn:p", None, None);
        assert!(!in_scope(
            &none,
            &RevocationScope::SourceIdentity("".into())
        ));
    }

    #[test]
    fn a_changed_policy_version_forgets_everything() {
        let cache = Cache::default();
        cache.policies("v1".into());
        let g = cache.generation.load(Ordering::Acquire);
        cache.policies("v1".into());
        assert_eq!(cache.generation.load(Ordering::Acquire), g);
        cache.policies("v2".into());
        assert_ne!(cache.generation.load(Ordering::Acquire), g);
    }
}
