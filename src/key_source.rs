//! idbroker's own [`KeySource`]: the grants of `POST /verify/key` (for downstream verifiers)
//! and of the verifier inside idbroker (`POST /verify`, `POST /verify/k8s`), one code path.
//! A session's (`ASIA…`) grant is the session store's ([`StoreSource`]: session token,
//! expiry, revocation, then the key derived from the secret inside the session crate's check);
//! an IAM user's long-term key (`AKIA…`) is the directory's. Both read the directory in force
//! ([`LiveDirectory`]). Its events are the process's [`RevocationHub`]: the store's revocations
//! and the directory's new versions.

use std::sync::Arc;

use async_trait::async_trait;
use idbroker_session::{PrincipalKind, SealingKeys, SessionStore};
use idbroker_sigv4::ScopeKey;
use idbroker_verify::{
    user_policies, Answer, CallerIdentity, EventStream, Grant, KeyAsk, KeySource, SourceNews,
    StoreSource, VerifyError,
};
use tokio::sync::broadcast;

use crate::clock::epoch;
use crate::directory::live::LiveDirectory;
use crate::directory::Directory;
use crate::revocation_hub::{HubNews, RevocationHub};

/// See the module.
#[derive(Debug, Clone)]
pub struct ServerKeySource {
    store: Arc<dyn SessionStore>,
    keys: Arc<SealingKeys>,
    directory: Arc<LiveDirectory>,
    hub: Arc<RevocationHub>,
}

/// How long past its scope's date a long-term key's grant is used: a request dated `date` may
/// be signed until the end of the next day (clock skew), so two days from the date's midnight.
const LONG_TERM_GRANT: i64 = 2 * 86_400;

impl ServerKeySource {
    /// Grants of the sessions in `store` (their secrets opened with `keys`) and of the
    /// long-term keys of the directory in force; events from `hub`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        keys: Arc<SealingKeys>,
        directory: Arc<LiveDirectory>,
        hub: Arc<RevocationHub>,
    ) -> Self {
        ServerKeySource {
            store,
            keys,
            directory,
            hub,
        }
    }

    /// The same source over another handle of the store (a worker's own connection).
    pub fn with_store(&self, store: Arc<dyn SessionStore>) -> Self {
        ServerKeySource {
            store,
            ..self.clone()
        }
    }

    fn long_term(&self, dir: &Directory, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
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
                    account: user.account.clone(),
                    role_arn: None,
                    session_name: None,
                    user_name: Some(user.name.clone()),
                    source_identity: None,
                    tags: Vec::new(),
                    issued_at: None,
                    expires_at,
                    mfa: false,
                    mfa_authenticated_at: None,
                },
                policies: user_policies(dir.policies(), &user.arn),
            },
        })
    }
}

#[async_trait]
impl KeySource for ServerKeySource {
    async fn grant(&self, ask: &KeyAsk<'_>) -> Result<Grant, VerifyError> {
        // One version of the directory for the whole grant.
        let dir = self.directory.load();
        if ask.access_key_id.starts_with("AKIA") {
            self.long_term(&dir, ask)
        } else {
            let sessions = StoreSource::new(
                Arc::clone(&self.store),
                Arc::clone(&self.keys),
                Arc::clone(dir.policies()),
            );
            sessions.grant(ask).await
        }
    }

    async fn events(
        &self,
        _service: Option<&str>,
    ) -> Result<Option<Box<dyn EventStream>>, VerifyError> {
        Ok(Some(Box::new(HubEvents {
            news: self.hub.subscribe(),
            // A stream that starts while the hub's feed is down says so first.
            down_first: !self.hub.feed_up(),
        })))
    }
}

/// The hub's news as a verifier's events.
struct HubEvents {
    news: broadcast::Receiver<HubNews>,
    down_first: bool,
}

#[async_trait]
impl EventStream for HubEvents {
    async fn next(&mut self) -> SourceNews {
        if std::mem::take(&mut self.down_first) {
            return SourceNews::Down;
        }
        match self.news.recv().await {
            Ok(HubNews::Revoked(e)) => SourceNews::Revoked(e),
            Ok(HubNews::Policies(v)) => SourceNews::Policies(v),
            // Back up (revocations may have been missed), or something unreadable.
            Ok(HubNews::Reset | HubNews::Up) => SourceNews::Reset,
            Ok(HubNews::Down) => SourceNews::Down,
            // Missed news: anything may have been revoked.
            Err(broadcast::error::RecvError::Lagged(_)) => SourceNews::Reset,
            Err(broadcast::error::RecvError::Closed) => SourceNews::Lost,
        }
    }
}
