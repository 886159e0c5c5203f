//! The one check of a presented temporary credential: access key id, session token, a proof of
//! the secret access key, expiry and revocation, always in that order.
//!
//! Every way in that accepts idbroker's temporary credentials goes through [`authenticate`] (the
//! session read from the store for this call: STS calls, the admin API, `POST /verify`'s calling
//! service, the console) or through [`OpenedSession::check`] (the session read earlier and kept:
//! `idbroker-verify`'s cache). Both run the same steps:
//!
//! 1. the access key id is a temporary (`ASIA…`) one and its session exists (read without the
//!    store's expiry filter, so that an expired session is told apart from an unknown one);
//! 2. the session token matches the stored hash (constant time);
//! 3. the proof: the [`Credential`] checks whatever it carries (a SigV4 signature, the secret
//!    itself) with the session's secret access key, unsealed with the [`SealingKeys`];
//! 4. the session has not expired;
//! 5. it is not revoked (the store asked now, or the state read with the kept session).
//!
//! A [`VerifiedSession`] is built only here, after all of them. What went wrong is a
//! [`Refusal`], which each caller maps to its own answers.

use std::convert::Infallible;

use tracing::instrument;

use crate::credentials::{AccessKeyId, AccessKeyKind, SecretAccessKey};
use crate::seal::SealingKeys;
use crate::session::Session;
use crate::store::SessionStore;

/// Why a presented temporary credential was refused. `E` is the [`Credential`]'s own proof
/// failure (a SigV4 error, [`SecretMismatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<E> {
    /// The access key id is not a temporary (`ASIA…`) one.
    NotTemporary,
    /// No session has this access key id.
    Unknown,
    /// No session token was presented, or not this session's.
    TokenMismatch,
    /// The session's secret is sealed with a key not held here: it proves nothing.
    Unsealable,
    /// The proof of the secret failed.
    Proof(E),
    /// The session has expired.
    Expired,
    /// The session is revoked.
    Revoked,
    /// The store could not answer: nothing is accepted (fail closed).
    Unavailable,
}

/// What is presented for a temporary session besides its access key id: the session token, and
/// a proof that the presenter holds the session's secret access key.
pub trait Credential {
    /// What a successful proof yields (a verified signature; nothing).
    type Proof;
    /// Why a proof fails.
    type Error;

    /// The session token presented, if any.
    fn session_token(&self) -> Option<&str>;

    /// Check the proof with the session's secret ([`Secret::check`]). Called only after the
    /// session token matched.
    fn prove(self, secret: Secret<'_>) -> Result<Self::Proof, Refusal<Self::Error>>;
}

/// The session token alone. For credentials idbroker itself sealed after a full check (the
/// console's cookie and sign-in token): the secret is neither opened nor compared.
#[derive(Clone, Copy)]
pub struct TokenOnly<'a>(pub &'a str);

impl Credential for TokenOnly<'_> {
    type Proof = ();
    type Error = Infallible;

    fn session_token(&self) -> Option<&str> {
        Some(self.0)
    }

    fn prove(self, _: Secret<'_>) -> Result<(), Refusal<Infallible>> {
        Ok(())
    }
}

/// The session token and the secret access key itself (the console's federation `Session`
/// parameter), compared in constant time.
#[derive(Clone, Copy)]
pub struct TokenAndSecret<'a> {
    /// The session token.
    pub token: &'a str,
    /// The secret access key.
    pub secret: &'a str,
}

/// The secret presented is not the session's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretMismatch;

impl Credential for TokenAndSecret<'_> {
    type Proof = ();
    type Error = SecretMismatch;

    fn session_token(&self) -> Option<&str> {
        Some(self.token)
    }

    fn prove(self, secret: Secret<'_>) -> Result<(), Refusal<SecretMismatch>> {
        secret.check(|stored| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                stored.expose_secret().as_bytes(),
                self.secret.as_bytes(),
            )
            .map_err(|_| SecretMismatch)
        })
    }
}

// The secret presented is never printed.
impl std::fmt::Debug for TokenOnly<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenOnly(<redacted>)")
    }
}

impl std::fmt::Debug for TokenAndSecret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAndSecret(<redacted>)")
    }
}

/// A session's secret access key, as a [`Credential`] gets it: opened already (a kept session),
/// or still sealed and opened only when the proof asks for it.
#[derive(Debug, Clone, Copy)]
pub struct Secret<'a>(SecretState<'a>);

#[derive(Debug, Clone, Copy)]
enum SecretState<'a> {
    Opened(&'a SecretAccessKey),
    Sealed(&'a SealingKeys, &'a Session),
}

impl Secret<'_> {
    /// Run `proof` with the secret. A secret sealed with a key not held here is
    /// [`Refusal::Unsealable`]; `proof`'s error is [`Refusal::Proof`].
    pub fn check<T, E>(
        self,
        proof: impl FnOnce(&SecretAccessKey) -> Result<T, E>,
    ) -> Result<T, Refusal<E>> {
        match self.0 {
            SecretState::Opened(secret) => proof(secret).map_err(Refusal::Proof),
            SecretState::Sealed(keys, session) => {
                let secret = open(keys, session)?;
                proof(&secret).map_err(Refusal::Proof)
            }
        }
    }
}

/// How revocation is learnt: from the store now, or as read with a kept session.
#[derive(Debug)]
enum Revocation<'a> {
    Ask(&'a dyn SessionStore),
    AsRead(bool),
}

/// A session whose presented credential passed every check. Only this module builds one.
/// `S` is the session (owned, or borrowed from an [`OpenedSession`]); `P` the proof's result.
#[derive(Debug)]
pub struct VerifiedSession<P = (), S = Session> {
    session: S,
    proof: P,
}

impl<P, S: std::borrow::Borrow<Session>> VerifiedSession<P, S> {
    /// The session.
    pub fn session(&self) -> &Session {
        self.session.borrow()
    }

    /// What the proof yielded.
    pub fn proof(&self) -> &P {
        &self.proof
    }

    /// The session and the proof's result.
    pub fn into_parts(self) -> (S, P) {
        (self.session, self.proof)
    }
}

/// `access_key_id` as a temporary (`ASIA…`) access key id, or [`Refusal::NotTemporary`].
pub fn temporary_key_id<E>(access_key_id: &str) -> Result<AccessKeyId, Refusal<E>> {
    match AccessKeyId::parse(access_key_id) {
        Ok(id) if id.kind() == AccessKeyKind::Temporary => Ok(id),
        _ => Err(Refusal::NotTemporary),
    }
}

/// Check `credential` for the session of `access_key_id` at `now` (seconds since the epoch),
/// reading the session and its revocation state from `store`. See the module's documentation
/// for the steps and their order.
#[instrument(level = "debug", skip_all)]
pub async fn authenticate<C: Credential>(
    store: &dyn SessionStore,
    keys: &SealingKeys,
    access_key_id: &str,
    credential: C,
    now: u64,
) -> Result<VerifiedSession<C::Proof>, Refusal<C::Error>> {
    let id = temporary_key_id(access_key_id)?;
    let session = read(store, &id).await?;
    let secret = Secret(SecretState::Sealed(keys, &session));
    let proof = check(&session, secret, Revocation::Ask(store), credential, now).await?;
    Ok(VerifiedSession { session, proof })
}

/// A session read from the store with its secret opened and its revocation state, to be kept
/// (`idbroker-verify`'s cache) and checked against each credential presented for it.
#[derive(Debug)]
pub struct OpenedSession {
    session: Session,
    secret: SecretAccessKey,
    revoked: bool,
}

impl OpenedSession {
    /// Read the session of `id` from `store`: the record, its revocation state, its secret
    /// (unsealed with `keys`; a key not held here is [`Refusal::Unsealable`]).
    #[instrument(level = "debug", skip_all)]
    pub async fn read<E>(
        store: &dyn SessionStore,
        keys: &SealingKeys,
        id: &AccessKeyId,
    ) -> Result<Self, Refusal<E>> {
        let session = read(store, id).await?;
        let revoked = store
            .is_revoked(&session)
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let secret = open(keys, &session)?;
        Ok(OpenedSession {
            session,
            secret,
            revoked,
        })
    }

    /// The session record.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Check `credential` against this session at `now`, with the revocation state as read.
    pub async fn check<C: Credential>(
        &self,
        credential: C,
        now: u64,
    ) -> Result<VerifiedSession<C::Proof, &Session>, Refusal<C::Error>> {
        let secret = Secret(SecretState::Opened(&self.secret));
        let revocation = Revocation::AsRead(self.revoked);
        let proof = check(&self.session, secret, revocation, credential, now).await?;
        Ok(VerifiedSession {
            session: &self.session,
            proof,
        })
    }
}

/// The session of `id`, read without the store's expiry filter (so that an expired session is
/// told apart from an unknown one).
async fn read<E>(store: &dyn SessionStore, id: &AccessKeyId) -> Result<Session, Refusal<E>> {
    let session = store
        .get(id, 0)
        .await
        .map_err(|_| Refusal::Unavailable)?
        .ok_or(Refusal::Unknown)?;
    // The record under a key must be that key's.
    if session.access_key_id != *id {
        return Err(Refusal::Unknown);
    }
    Ok(session)
}

fn open<E>(keys: &SealingKeys, session: &Session) -> Result<SecretAccessKey, Refusal<E>> {
    keys.unseal(&session.secret, &session.access_key_id)
        .map_err(|_| Refusal::Unsealable)
}

/// Steps 2 to 5 on a session in hand: token, proof, expiry, revocation.
async fn check<C: Credential>(
    session: &Session,
    secret: Secret<'_>,
    revocation: Revocation<'_>,
    credential: C,
    now: u64,
) -> Result<C::Proof, Refusal<C::Error>> {
    // Constant-time comparison of the token's SHA-256 with the stored hash.
    if !credential
        .session_token()
        .is_some_and(|t| session.token_matches(t))
    {
        return Err(Refusal::TokenMismatch);
    }
    let proof = credential.prove(secret)?;
    if session.is_expired(now) {
        return Err(Refusal::Expired);
    }
    // Revoked sessions (a mark on their role, principal or source identity at or after their
    // issue time) authenticate nothing. A store that cannot answer: fail closed.
    let revoked = match revocation {
        Revocation::AsRead(revoked) => revoked,
        Revocation::Ask(store) => store
            .is_revoked(session)
            .await
            .map_err(|_| Refusal::Unavailable)?,
    };
    if revoked {
        return Err(Refusal::Revoked);
    }
    Ok(proof)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::credentials::SessionToken;
    use crate::session::{PolicyRefs, Principal, PrincipalKind, RevocationScope};
    use crate::store::MemoryStore;
    use crate::SessionError;

    const ROLE: &str = "arn:aws:iam::123456789012:role/Reader";
    const NOW: u64 = 10_000;

    /// A memory store whose reads (of sessions, of revocation marks) can fail.
    #[derive(Debug, Default)]
    struct Switch {
        inner: MemoryStore,
        get_down: AtomicBool,
        marks_down: AtomicBool,
    }

    fn down(flag: &AtomicBool) -> Result<(), SessionError> {
        if flag.load(Ordering::SeqCst) {
            Err(SessionError::Unavailable)
        } else {
            Ok(())
        }
    }

    #[async_trait]
    impl SessionStore for Switch {
        async fn put(&self, s: &Session, now: u64) -> Result<(), SessionError> {
            self.inner.put(s, now).await
        }
        async fn get(&self, id: &AccessKeyId, now: u64) -> Result<Option<Session>, SessionError> {
            down(&self.get_down)?;
            self.inner.get(id, now).await
        }
        async fn delete(&self, id: &AccessKeyId) -> Result<(), SessionError> {
            self.inner.delete(id).await
        }
        async fn revoke(&self, id: &AccessKeyId) -> Result<(), SessionError> {
            self.inner.revoke(id).await
        }
        async fn set_revoked_before(
            &self,
            scope: &RevocationScope,
            at: u64,
            ttl: u64,
        ) -> Result<(), SessionError> {
            self.inner.set_revoked_before(scope, at, ttl).await
        }
        async fn revoked_before(
            &self,
            scope: &RevocationScope,
        ) -> Result<Option<u64>, SessionError> {
            down(&self.marks_down)?;
            self.inner.revoked_before(scope).await
        }
        async fn list_sessions(
            &self,
            scope: &RevocationScope,
            after: Option<&crate::ListPosition>,
            max: usize,
            now: u64,
        ) -> Result<crate::SessionPage, SessionError> {
            self.inner.list_sessions(scope, after, max, now).await
        }
        async fn use_once(
            &self,
            ns: &str,
            id: &str,
            until: u64,
            now: u64,
        ) -> Result<(), SessionError> {
            self.inner.use_once(ns, id, until, now).await
        }
        async fn admit(
            &self,
            b: &[crate::RateBucket],
            now: u64,
        ) -> Result<crate::Admission, SessionError> {
            self.inner.admit(b, now).await
        }
        async fn ping(&self) -> Result<(), SessionError> {
            self.inner.ping().await
        }
    }

    struct Fixture {
        store: Arc<Switch>,
        keys: SealingKeys,
        id: String,
        secret: SecretAccessKey,
        token: SessionToken,
    }

    /// A role session issued at NOW - 100, expiring at NOW + 900, sealed with key `k1`.
    async fn fixture() -> Fixture {
        let keys = SealingKeys::new("k1", &[7u8; 32]).unwrap();
        let id = AccessKeyId::generate_temporary().unwrap();
        let secret = SecretAccessKey::generate().unwrap();
        let token = SessionToken::generate().unwrap();
        let session = Session {
            secret: keys.seal(&secret, &id).unwrap(),
            access_key_id: id.clone(),
            token_hash: token.hash(),
            principal: Principal {
                kind: PrincipalKind::AssumedRole,
                arn: "arn:aws:sts::123456789012:assumed-role/Reader/alice".into(),
                principal_id: "AROAEXAMPLE:alice".into(),
                account: "123456789012".into(),
                role_arn: Some(ROLE.into()),
                session_name: Some("alice".into()),
                source_identity: None,
                tags: vec![],
                transitive_tag_keys: vec![],
                user_name: None,
            },
            policies: PolicyRefs::default(),
            issued_at: NOW - 100,
            expires_at: NOW + 900,
            mfa: false,
            mfa_authenticated_at: None,
            chained_from: None,
        };
        let store = Arc::new(Switch::default());
        store.put(&session, NOW - 100).await.unwrap();
        Fixture {
            store,
            keys,
            id: id.as_str().to_owned(),
            secret,
            token,
        }
    }

    impl Fixture {
        fn good(&self) -> TokenAndSecret<'_> {
            TokenAndSecret {
                token: self.token.expose_secret(),
                secret: self.secret.expose_secret(),
            }
        }

        /// [`authenticate`] and [`OpenedSession::check`], which must agree.
        async fn both(
            &self,
            keys: &SealingKeys,
            id: &str,
            cred: TokenAndSecret<'_>,
            now: u64,
        ) -> Result<(), Refusal<SecretMismatch>> {
            let a = authenticate(self.store.as_ref(), keys, id, cred, now)
                .await
                .map(|v| assert_eq!(v.session().access_key_id.as_str(), id));
            let b = async {
                let id = temporary_key_id(id)?;
                let opened = OpenedSession::read(self.store.as_ref(), keys, &id).await?;
                opened.check(cred, now).await.map(|_| ())
            }
            .await;
            assert_eq!(a, b, "the store path and the kept-session path disagree");
            a
        }
    }

    #[tokio::test]
    async fn a_good_credential_verifies() {
        let f = fixture().await;
        assert_eq!(f.both(&f.keys, &f.id, f.good(), NOW).await, Ok(()));
        let v = authenticate(f.store.as_ref(), &f.keys, &f.id, f.good(), NOW)
            .await
            .unwrap();
        assert_eq!(v.session().principal.role_arn.as_deref(), Some(ROLE));
        // The token alone.
        let token = TokenOnly(f.token.expose_secret());
        assert!(authenticate(f.store.as_ref(), &f.keys, &f.id, token, NOW)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn unknown_and_non_temporary_ids() {
        let f = fixture().await;
        let other = AccessKeyId::generate_temporary().unwrap();
        assert_eq!(
            f.both(&f.keys, other.as_str(), f.good(), NOW).await,
            Err(Refusal::Unknown)
        );
        let long_term = AccessKeyId::generate_long_term().unwrap();
        for id in [long_term.as_str(), "", "not-a-key", "ASIA"] {
            assert_eq!(
                f.both(&f.keys, id, f.good(), NOW).await,
                Err(Refusal::NotTemporary),
                "{id}"
            );
        }
    }

    #[tokio::test]
    async fn wrong_token_and_wrong_secret() {
        let f = fixture().await;
        let other = SessionToken::generate().unwrap();
        let cred = TokenAndSecret {
            token: other.expose_secret(),
            ..f.good()
        };
        assert_eq!(
            f.both(&f.keys, &f.id, cred, NOW).await,
            Err(Refusal::TokenMismatch)
        );
        let cred = TokenAndSecret {
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ..f.good()
        };
        assert_eq!(
            f.both(&f.keys, &f.id, cred, NOW).await,
            Err(Refusal::Proof(SecretMismatch))
        );
        // A prefix of the secret is not the secret.
        let short = &f.secret.expose_secret()[..10];
        let cred = TokenAndSecret {
            secret: short,
            ..f.good()
        };
        assert_eq!(
            f.both(&f.keys, &f.id, cred, NOW).await,
            Err(Refusal::Proof(SecretMismatch))
        );
        // The token is checked before the secret.
        let cred = TokenAndSecret {
            token: other.expose_secret(),
            secret: "x",
        };
        assert_eq!(
            f.both(&f.keys, &f.id, cred, NOW).await,
            Err(Refusal::TokenMismatch)
        );
    }

    #[tokio::test]
    async fn expired() {
        let f = fixture().await;
        assert_eq!(f.both(&f.keys, &f.id, f.good(), NOW + 899).await, Ok(()));
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW + 900).await,
            Err(Refusal::Expired)
        );
        // A wrong secret is refused as such before the expiry is looked at.
        let cred = TokenAndSecret {
            secret: "x",
            ..f.good()
        };
        assert_eq!(
            f.both(&f.keys, &f.id, cred, NOW + 900).await,
            Err(Refusal::Proof(SecretMismatch))
        );
    }

    #[tokio::test]
    async fn revoked() {
        let f = fixture().await;
        f.store
            .set_revoked_before(&RevocationScope::Role(ROLE.into()), NOW - 50, 3600)
            .await
            .unwrap();
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW).await,
            Err(Refusal::Revoked)
        );
        // Expiry is told before revocation.
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW + 900).await,
            Err(Refusal::Expired)
        );
        // One session revoked: gone from the store.
        let f = fixture().await;
        let id = AccessKeyId::parse(&f.id).unwrap();
        f.store.revoke(&id).await.unwrap();
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW).await,
            Err(Refusal::Unknown)
        );
    }

    #[tokio::test]
    async fn store_down() {
        let f = fixture().await;
        f.store.get_down.store(true, Ordering::SeqCst);
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW).await,
            Err(Refusal::Unavailable)
        );
        f.store.get_down.store(false, Ordering::SeqCst);
        f.store.marks_down.store(true, Ordering::SeqCst);
        assert_eq!(
            f.both(&f.keys, &f.id, f.good(), NOW).await,
            Err(Refusal::Unavailable)
        );
        // Read for this call, the marks are asked last: a wrong token is told without them.
        let other = SessionToken::generate().unwrap();
        let cred = TokenAndSecret {
            token: other.expose_secret(),
            ..f.good()
        };
        assert_eq!(
            authenticate(f.store.as_ref(), &f.keys, &f.id, cred, NOW)
                .await
                .map(|_| ()),
            Err(Refusal::TokenMismatch)
        );
    }

    #[tokio::test]
    async fn sealed_with_a_key_no_longer_held() {
        let f = fixture().await;
        // Rotated: k2 active, k1 still held as an old key.
        let mut rotated = SealingKeys::new("k2", &[9u8; 32]).unwrap();
        rotated.add_old("k1", &[7u8; 32]).unwrap();
        assert_eq!(f.both(&rotated, &f.id, f.good(), NOW).await, Ok(()));
        // k1 dropped.
        let without = SealingKeys::new("k2", &[9u8; 32]).unwrap();
        assert_eq!(
            f.both(&without, &f.id, f.good(), NOW).await,
            Err(Refusal::Unsealable)
        );
        // The token alone does not need the secret.
        let token = TokenOnly(f.token.expose_secret());
        assert!(authenticate(f.store.as_ref(), &without, &f.id, token, NOW)
            .await
            .is_ok());
    }

    #[test]
    fn debug_shows_no_credential() {
        let cred = TokenAndSecret {
            token: "the-token",
            secret: "the-secret",
        };
        let text = format!("{cred:?} {:?}", TokenOnly("the-token"));
        assert!(!text.contains("the-token") && !text.contains("the-secret"));
    }
}
