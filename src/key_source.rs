//! idbroker's own [`KeySource`]: the grants of `POST /verify/key` (for downstream verifiers)
//! and of the verifier inside idbroker (`POST /verify`, `POST /verify/k8s`), one code path.
//! A session's (`ASIA…`) grant is the session store's ([`StoreSource`]: session token,
//! expiry, revocation, then the key derived from the secret inside the session crate's check);
//! an IAM user's long-term key (`AKIA…`) is the directory's.

use std::sync::Arc;

use async_trait::async_trait;
use idbroker_session::{PrincipalKind, SessionStore};
use idbroker_sigv4::ScopeKey;
use idbroker_verify::{
    user_policies, Answer, CallerIdentity, EventStream, Grant, KeyAsk, KeySource, StoreSource,
    VerifyError,
};

use crate::clock::epoch;
use crate::config::Config;

/// See the module.
#[derive(Debug, Clone)]
pub struct ServerKeySource {
    config: Arc<Config>,
    sessions: StoreSource,
}

/// How long past its scope's date a long-term key's grant is used: a request dated `date` may
/// be signed until the end of the next day (clock skew), so two days from the date's midnight.
const LONG_TERM_GRANT: i64 = 2 * 86_400;

impl ServerKeySource {
    /// Grants of the sessions `sessions` reads, and of the long-term keys of `config`'s
    /// directory.
    pub fn new(config: Arc<Config>, sessions: StoreSource) -> Self {
        ServerKeySource { config, sessions }
    }

    /// The same source over another handle of the store (a worker's own connection).
    pub fn with_store(&self, store: Arc<dyn SessionStore>) -> Self {
        ServerKeySource {
            config: Arc::clone(&self.config),
            sessions: self.sessions.with_store(store),
        }
    }

    fn long_term(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        let dir = &self.config.directory;
        let (user, key) = dir
            .access_key(ask.access_key_id)
            .ok_or(VerifyError::InvalidClientTokenId)?;
        // A session token with a long-term key, or an inactive key: invalid, as AWS says it.
        if !key.active || ask.session_token.is_some() {
            return Err(VerifyError::InvalidClientTokenId);
        }
        let day = time::Date::parse(
            ask.date,
            time::macros::format_description!("[year][month][day]"),
        )
        .map_err(|_| VerifyError::IncompleteSignature("Invalid credential scope date.".into()))?;
        let expires_at = day.midnight().assume_utc().unix_timestamp() + LONG_TERM_GRANT;
        let expires_at = u64::try_from(expires_at).unwrap_or(0);
        if epoch(ask.now) >= expires_at {
            return Err(VerifyError::IncompleteSignature(
                "The credential scope's date is too old.".into(),
            ));
        }
        let scope_key = ScopeKey::derive(&key.secret, ask.date, ask.region, ask.service)
            .map_err(|_| VerifyError::ServiceUnavailable)?;
        Ok(Grant {
            key: scope_key,
            expires_at,
            caller: Answer {
                identity: CallerIdentity {
                    access_key_id: key.id.clone(),
                    kind: PrincipalKind::User,
                    arn: user.arn.clone(),
                    user_id: user.user_id.clone(),
                    account: dir.account_id.clone(),
                    role_arn: None,
                    session_name: None,
                    user_name: Some(user.name.clone()),
                    source_identity: None,
                    tags: Vec::new(),
                    issued_at: None,
                    expires_at,
                    mfa: false,
                },
                policies: user_policies(self.sessions.policies(), &user.arn),
            },
        })
    }
}

#[async_trait]
impl KeySource for ServerKeySource {
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        if ask.access_key_id.starts_with("AKIA") {
            self.long_term(ask)
        } else {
            self.sessions.grant(ask).await
        }
    }

    async fn events(
        &self,
        service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError> {
        self.sessions.events(service).await
    }
}
