//! Minting: a granted [`SessionPlan`] becomes a stored session and the [`Credentials`] the client
//! gets. Credentials exist only once the store has accepted the session (fail closed:
//! [`StsError::Unavailable`] otherwise), so no client ever holds a key that nothing can verify.

use std::time::SystemTime;

use idbroker_session::{
    AccessKeyId, AccessKeyKind, PolicyRefs, Principal, PrincipalKind, SecretAccessKey, Session,
    SessionTag, SessionToken,
};
use tracing::instrument;

use crate::clock::epoch;
use crate::sts::{Services, SessionPlan, StsError};

/// Freshly minted credentials, returned to the client once the store accepted the session.
/// Only [`mint`] makes them.
pub struct Credentials {
    access_key_id: AccessKeyId,
    secret_access_key: SecretAccessKey,
    session_token: SessionToken,
    expiration: SystemTime,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        self.access_key_id.as_str()
    }

    /// The session token (a secret: only for the client, or the console's sealed cookie).
    pub fn session_token(&self) -> &str {
        self.session_token.expose_secret()
    }

    /// When the credentials expire.
    pub fn expiration(&self) -> SystemTime {
        self.expiration
    }

    /// The secret access key (a secret: only for the client).
    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose_secret()
    }
}

/// A session a use case issued: what was granted, and the credentials that name it.
#[derive(Debug)]
pub struct IssuedSession {
    /// What was granted (principal, role, lifetime, policies, tags).
    pub plan: SessionPlan,
    /// The credentials, for the client only.
    pub credentials: Credentials,
}

/// Mint credentials for a granted plan and store the session.
#[instrument(level = "debug", skip_all)]
pub async fn mint(
    sts: &Services<'_>,
    plan: SessionPlan,
    now: SystemTime,
) -> Result<IssuedSession, StsError> {
    let access_key_id = AccessKeyId::generate_temporary().map_err(|_| StsError::Internal)?;
    let secret = SecretAccessKey::generate().map_err(|_| StsError::Internal)?;
    let token = SessionToken::generate().map_err(|_| StsError::Internal)?;
    let sealed = sts
        .keys
        .seal(&secret, &access_key_id)
        .map_err(|_| StsError::Internal)?;
    let expiration = now + plan.duration;
    let (kind, role_arn, session_name) = match (&plan.role, &plan.user_name) {
        (Some((role_arn, _role_name, session_name)), _) => (
            PrincipalKind::AssumedRole,
            Some(role_arn.clone()),
            Some(session_name.clone()),
        ),
        (None, Some(_)) => (PrincipalKind::User, None, None),
        (None, None) => return Err(StsError::Internal),
    };
    let chained_from = plan
        .parent_access_key_id
        .as_deref()
        .and_then(|id| AccessKeyId::parse(id).ok())
        .filter(|id| id.kind() == AccessKeyKind::Temporary);
    let session = Session {
        access_key_id: access_key_id.clone(),
        secret: sealed,
        token_hash: token.hash(),
        principal: Principal {
            kind,
            arn: plan.arn.clone(),
            principal_id: plan.user_id.clone(),
            account: plan.account.clone(),
            role_arn,
            session_name,
            source_identity: plan.source_identity.clone(),
            tags: plan
                .tags
                .iter()
                .map(|t| SessionTag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
            transitive_tag_keys: plan.transitive_tag_keys.clone(),
            user_name: plan.user_name.clone(),
        },
        policies: PolicyRefs {
            session_policy: plan.session_policy.clone(),
            session_policy_arns: plan.session_policy_arns.clone(),
            ..PolicyRefs::default()
        },
        issued_at: epoch(now),
        expires_at: epoch(expiration),
        mfa: plan.mfa_authenticated_at.is_some(),
        mfa_authenticated_at: plan.mfa_authenticated_at.map(epoch),
        chained_from,
    };
    sts.store
        .put(&session, epoch(now))
        .await
        .map_err(|_| StsError::Unavailable)?;
    Ok(IssuedSession {
        plan,
        credentials: Credentials {
            access_key_id,
            secret_access_key: secret,
            session_token: token,
            expiration,
        },
    })
}
