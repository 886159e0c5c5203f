//! What every handler shares: the validated configuration, the session store, the sealing keys
//! and the clock.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use idbroker_session::{
    AccessKeyId, PolicyRefs, Principal, PrincipalKind, SealingKeys, SecretAccessKey, Session,
    SessionStore, SessionTag, SessionToken,
};

use crate::clock::{epoch, Clock};
use crate::config::Config;
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
    /// OpenID Connect providers and their key caches.
    pub oidc: Arc<crate::federation::oidc::OidcFederation>,
    /// Verifies requests for downstream services (`POST /verify`): the `idbroker-verify`
    /// verifier over this state's store, with its session cache (one per worker).
    pub verifier: Arc<idbroker_verify::Verifier>,
    /// The console's OIDC logins (discovery cache, code exchange).
    pub console_logins: Arc<crate::console::oidc_login::OidcLogins>,
}

/// Freshly minted credentials, returned to the client once the store accepted the session.
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

    /// The container-credentials JSON the AWS SDKs read (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    pub fn container_json(&self, role_arn: &str) -> serde_json::Value {
        serde_json::json!({
            "AccessKeyId": self.access_key_id.as_str(),
            "SecretAccessKey": self.secret_access_key.expose_secret(),
            "Token": self.session_token.expose_secret(),
            "Expiration": crate::clock::iso8601(self.expiration),
            "RoleArn": role_arn,
        })
    }
}

impl AppState {
    /// The state one server worker thread uses: the same configuration, keys and metrics, and
    /// the store's per-worker handle when it has one (a Redis connection of the worker's own).
    pub fn for_worker(&self) -> AppState {
        let mut state = self.clone();
        if let Some(store) = self.store.worker_handle() {
            state.store = store;
        }
        // A verifier of the worker's own: its store handle, and a session cache no other thread
        // locks.
        state.verifier = Arc::new(idbroker_verify::Verifier::new(
            Arc::clone(&state.store),
            self.verifier.options().clone(),
        ));
        // Revocations reach this worker's cache at once (the cache TTL is the fallback bound
        // while the feed is down). On the worker's own runtime: this runs on its thread.
        state.verifier.watch_revocations();
        state
    }

    /// Mint credentials for a planned session and store it. The credentials exist for the
    /// client only if the store accepted the session (fail closed: `Unavailable` otherwise).
    pub async fn mint(&self, plan: &SessionPlan, now: SystemTime) -> Result<Credentials, StsError> {
        let access_key_id = AccessKeyId::generate_temporary().map_err(|_| StsError::Internal)?;
        let secret = SecretAccessKey::generate().map_err(|_| StsError::Internal)?;
        let token = SessionToken::generate().map_err(|_| StsError::Internal)?;
        let sealed = self
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
            .filter(|id| id.kind() == idbroker_session::AccessKeyKind::Temporary);
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
            mfa: false,
            chained_from,
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
