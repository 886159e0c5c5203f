//! [`StoreSource`] (feature `store`): grants read from idbroker's session store and opened
//! with its sealing keys. For idbroker's own process only (`POST /verify`, `POST /verify/key`):
//! whoever holds the sealing keys can sign as every user, so no downstream service is ever
//! configured this way; services use [`RemoteSource`](crate::RemoteSource).

use std::sync::Arc;

use async_trait::async_trait;
use idbroker_policy::{Policy, PolicyKind};
use idbroker_session::{
    authenticate, Credential, FeedNews, PrincipalKind, Refusal, RevocationFeed, SealingKeys,
    Secret, Session, SessionStore,
};
use idbroker_sigv4::ScopeKey;

use crate::caller::CallerIdentity;
use crate::source::{Answer, EventStream, Grant, GrantPolicies, KeyAsk, KeySource, SourceNews};
use crate::{PolicyDirectory, VerifyError};

/// Grants from the session store (see the module).
#[derive(Debug, Clone)]
pub struct StoreSource {
    store: Arc<dyn SessionStore>,
    keys: Arc<SealingKeys>,
    policies: Arc<PolicyDirectory>,
}

impl StoreSource {
    /// Grants of the sessions in `store`, their secrets opened with `keys`, their policies
    /// from `policies`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        keys: Arc<SealingKeys>,
        policies: Arc<PolicyDirectory>,
    ) -> Self {
        StoreSource {
            store,
            keys,
            policies,
        }
    }

    /// The same source over another handle of the store (a server worker's own connection).
    pub fn with_store(&self, store: Arc<dyn SessionStore>) -> Self {
        StoreSource {
            store,
            keys: Arc::clone(&self.keys),
            policies: Arc::clone(&self.policies),
        }
    }

    /// The policy documents.
    pub fn policies(&self) -> &Arc<PolicyDirectory> {
        &self.policies
    }
}

/// The session token, and the secret turned into the scope's key: the secret itself never
/// leaves the session crate's check.
struct TokenThenKey<'a> {
    token: Option<&'a str>,
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Credential for TokenThenKey<'_> {
    type Proof = ScopeKey;
    type Error = ();

    fn session_token(&self) -> Option<&str> {
        self.token
    }

    fn prove(self, secret: Secret<'_>) -> Result<ScopeKey, Refusal<()>> {
        secret.check(|s| {
            ScopeKey::derive(s.expose_secret(), self.date, self.region, self.service)
                .map_err(|_| ())
        })
    }
}

#[async_trait]
impl KeySource for StoreSource {
    /// Temporary credentials only (a long-term key is the directory's: idbroker's own source
    /// answers for those).
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        let credential = TokenThenKey {
            token: ask.session_token,
            date: ask.date,
            region: ask.region,
            service: ask.service,
        };
        let now = crate::time::epoch(ask.now);
        let verified = authenticate(
            self.store.as_ref(),
            &self.keys,
            ask.access_key_id,
            credential,
            now,
        )
        .await
        .map_err(|r| match r {
            Refusal::Expired => VerifyError::ExpiredToken,
            Refusal::Unavailable => VerifyError::ServiceUnavailable,
            // The key derivation takes any secret: cannot fail; if it did, verify nothing.
            Refusal::Proof(()) => VerifyError::ServiceUnavailable,
            Refusal::NotTemporary
            | Refusal::Unknown
            | Refusal::TokenMismatch
            | Refusal::Unsealable
            | Refusal::Revoked => VerifyError::InvalidClientTokenId,
        })?;
        let (session, key) = verified.into_parts();
        Ok(Grant {
            key,
            expires_at: session.expires_at,
            caller: Answer {
                identity: identity_of(&session),
                policies: session_policies(&self.policies, &session),
            },
        })
    }

    async fn events(
        &self,
        _service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError> {
        match self.store.subscribe_revocations().await {
            Ok(Some(feed)) => Ok(Some(Box::new(StoreEvents(feed)))),
            Ok(None) => Ok(None),
            Err(_) => Err(VerifyError::ServiceUnavailable),
        }
    }
}

/// The store's revocation feed as an event stream.
struct StoreEvents(RevocationFeed);

#[async_trait]
impl EventStream for StoreEvents {
    async fn next(&mut self) -> SourceNews {
        match self.0.next().await {
            FeedNews::Revoked(e) => SourceNews::Revoked(e),
            FeedNews::Unreadable => SourceNews::Reset,
            FeedNews::Lost => SourceNews::Lost,
        }
    }
}

/// Who a session is.
pub fn identity_of(s: &Session) -> CallerIdentity {
    let p = &s.principal;
    CallerIdentity {
        access_key_id: s.access_key_id.as_str().to_owned(),
        kind: p.kind,
        arn: p.arn.clone(),
        user_id: p.principal_id.clone(),
        account: p.account.clone(),
        role_arn: p.role_arn.clone(),
        session_name: p.session_name.clone(),
        user_name: p.user_name.clone(),
        source_identity: p.source_identity.clone(),
        tags: p.tags.clone(),
        issued_at: Some(s.issued_at),
        expires_at: s.expires_at,
        mfa: s.mfa,
        mfa_authenticated_at: s.mfa_authenticated_at,
    }
}

/// The policies `session` refers to, compiled, from `dir`.
pub fn session_policies(dir: &PolicyDirectory, session: &Session) -> GrantPolicies {
    let p = &session.principal;
    let refs = &session.policies;
    // Role sessions are bound by the role's policies; user sessions by the user's.
    let owner = match p.kind {
        PrincipalKind::AssumedRole => p.role_arn.as_deref(),
        _ => Some(p.arn.as_str()),
    };
    let mut resolved = owner.is_some();
    let owner = owner.unwrap_or_default();
    let mut identity = dir
        .identity_of(owner, &refs.identity_policy_ids)
        .unwrap_or_else(|| {
            resolved = false;
            Vec::new()
        });
    for arn in &refs.managed_policy_arns {
        match dir.managed_policy(arn) {
            Ok(pol) => identity.push(pol),
            Err(_) => resolved = false,
        }
    }
    let boundary = match &refs.permissions_boundary_arn {
        Some(arn) => dir.managed_policy(arn).ok().or_else(|| {
            resolved = false;
            None
        }),
        None => dir.boundary_of(owner),
    };
    let mut session_policies = Vec::new();
    if let Some(text) = &refs.session_policy {
        match Policy::parse(text, PolicyKind::Session) {
            Ok(pol) => session_policies.push(Arc::new(pol.with_id("session-policy"))),
            Err(_) => resolved = false,
        }
    }
    for arn in &refs.session_policy_arns {
        match dir.managed_policy(arn) {
            Ok(pol) => session_policies.push(pol),
            Err(_) => resolved = false,
        }
    }
    if !resolved {
        tracing::warn!(
            access_key_id = session.access_key_id.as_str(),
            "session refers to policies idbroker does not know; it is denied everything"
        );
    }
    GrantPolicies {
        identity,
        boundary,
        session: session_policies,
        resolved,
    }
}

/// The policies of an IAM user's long-term key: the user's identity policies and boundary.
pub fn user_policies(dir: &PolicyDirectory, user_arn: &str) -> GrantPolicies {
    GrantPolicies {
        identity: dir.identity_of(user_arn, &[]).unwrap_or_default(),
        boundary: dir.boundary_of(user_arn),
        session: Vec::new(),
        resolved: true,
    }
}
