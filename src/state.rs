//! What every handler shares: the validated configuration, the session store, the sealing keys
//! and the clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idbroker_session::credentials::{
    new_secret_access_key, new_session_token, new_temporary_access_key_id, token_sha256,
};
use idbroker_session::seal::SealingKeys;
use idbroker_session::{Session, SessionPrincipal, SessionStore, SessionTag};
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::xml::Body;
use crate::sts::{SessionPlan, StsError};

/// Shared state of the server.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration (directory included).
    pub config: Arc<Config>,
    /// Where sessions live.
    pub store: Arc<dyn SessionStore>,
    /// Seals secret access keys at rest.
    pub keys: Arc<SealingKeys>,
    /// The one clock.
    pub clock: Arc<dyn Clock>,
    /// Served over TLS (for `aws:SecureTransport`).
    pub tls: bool,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Seconds since the epoch.
pub fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Freshly minted credentials, returned to the client once the store accepted the session.
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Zeroizing<String>,
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
        &self.access_key_id
    }

    /// Write the `<Credentials>` element.
    pub fn render(&self, b: &mut Body) {
        b.open("Credentials")
            .field("AccessKeyId", &self.access_key_id)
            .field("SecretAccessKey", &self.secret_access_key)
            .field("SessionToken", &self.session_token)
            .field("Expiration", &crate::clock::iso8601(self.expiration))
            .close("Credentials");
    }
}

impl AppState {
    /// Mint credentials for a planned session and store it. The credentials exist for the
    /// client only if the store accepted the session (fail closed: `Unavailable` otherwise).
    pub async fn mint(&self, plan: &SessionPlan, now: SystemTime) -> Result<Credentials, StsError> {
        let access_key_id = new_temporary_access_key_id().map_err(|_| StsError::Unavailable)?;
        let secret = new_secret_access_key().map_err(|_| StsError::Unavailable)?;
        let token = new_session_token().map_err(|_| StsError::Unavailable)?;
        let sealed = self
            .keys
            .seal(&secret, &access_key_id)
            .map_err(|_| StsError::Internal)?;
        let expiration = now + plan.duration;
        let principal = match (&plan.role, &plan.user_name) {
            (Some((role_arn, role_name, session_name)), _) => SessionPrincipal::AssumedRole {
                role_arn: role_arn.clone(),
                role_name: role_name.clone(),
                session_name: session_name.clone(),
            },
            (None, Some(user_name)) => SessionPrincipal::User {
                user_name: user_name.clone(),
            },
            (None, None) => return Err(StsError::Internal),
        };
        let session = Session {
            v: 1,
            access_key_id: access_key_id.clone(),
            secret: sealed,
            token_sha256: token_sha256(&token),
            principal,
            arn: plan.arn.clone(),
            user_id: plan.user_id.clone(),
            account: plan.account.clone(),
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
            session_policy: plan.session_policy.clone(),
            session_policy_arns: plan.session_policy_arns.clone(),
            parent_access_key_id: plan.parent_access_key_id.clone(),
            issued_at: epoch(now),
            expires_at: epoch(expiration),
        };
        self.store
            .put(&session, epoch(now))
            .await
            .map_err(|_| StsError::Unavailable)?;
        Ok(Credentials {
            access_key_id,
            secret_access_key: secret,
            session_token: token,
            expiration,
        })
    }

    /// The allowed SigV4 clock skew.
    pub fn skew(&self) -> Duration {
        self.config.sigv4_skew
    }
}
