//! Revocations as they happen: every `revoke` and `set_revoked_before` of a store is published
//! (Redis `PUBLISH` on `P` + `revocations`, inside the script that writes the revocation, so a
//! written revocation is always announced; an in-process broadcast for the memory store), and a
//! [`RevocationFeed`] delivers them to a verifier, which drops the matching cache entries at once.
//!
//! The feed is a hint that makes revocations fast, never the source of truth: a verifier reads
//! the revocation itself from the store when it refills its cache, and a feed that is down (or
//! missed messages) says so ([`FeedNews::Lost`]) so that the verifier can fall back to its cache
//! TTL and forget what it holds.

use std::time::Duration;

use ::redis::aio::{PubSubSink, PubSubStream};
use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::credentials::AccessKeyId;
use crate::session::RevocationScope;

/// A revocation, as announced to verifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationEvent {
    /// One session was revoked (`SessionStore::revoke`).
    Session(AccessKeyId),
    /// The sessions of a scope issued up to some time were revoked
    /// (`SessionStore::set_revoked_before`); which ones, the store's mark says.
    Scope(RevocationScope),
}

impl RevocationEvent {
    /// The message published: `{"session":"ASIA…"}` or `{"scope":"role","value":"arn:…"}`.
    pub fn to_message(&self) -> String {
        match self {
            Self::Session(id) => serde_json::json!({ "session": id.as_str() }),
            Self::Scope(scope) => {
                serde_json::json!({ "scope": scope.kind(), "value": scope.value() })
            }
        }
        .to_string()
    }

    /// Read a published message; `None` for anything else.
    pub fn from_message(bytes: &[u8]) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let o = v.as_object()?;
        if let Some(id) = o.get("session") {
            return AccessKeyId::parse(id.as_str()?).ok().map(Self::Session);
        }
        let kind = o.get("scope")?.as_str()?;
        let value = o.get("value")?.as_str()?;
        RevocationScope::from_kind(kind, value).map(Self::Scope)
    }
}

/// What a [`RevocationFeed`] has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedNews {
    /// A revocation.
    Revoked(RevocationEvent),
    /// A message on the channel that is not a revocation this crate knows: treat it as "anything
    /// may have been revoked".
    Unreadable,
    /// The feed ended (connection lost, no answer to a ping) or missed messages. Revocations
    /// may have been missed: forget what is cached, and subscribe again.
    Lost,
}

/// A subscription to a store's revocations. Made by `SessionStore::subscribe_revocations`.
pub struct RevocationFeed {
    inner: Inner,
}

enum Inner {
    Memory(broadcast::Receiver<RevocationEvent>),
    /// One subscription per server: a standalone Redis, or every primary of a cluster (a
    /// message reaches the subscribers of the node that published it directly, whatever the
    /// cluster bus does; the copies other nodes relay are harmless, dropping a cache entry twice
    /// drops it once).
    Redis {
        subs: Vec<(PubSubSink, PubSubStream)>,
        /// Ping every server this often when no message comes, to notice a dead connection.
        ping: tokio::time::Interval,
        timeout: Duration,
    },
}

impl std::fmt::Debug for RevocationFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Memory(_) => "memory",
            Inner::Redis { .. } => "redis",
        };
        f.debug_struct("RevocationFeed")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl RevocationFeed {
    pub(crate) fn memory(rx: broadcast::Receiver<RevocationEvent>) -> Self {
        Self {
            inner: Inner::Memory(rx),
        }
    }

    /// Subscribed Redis pub/sub connections (at least one); `ping_every` also bounds how long a
    /// silently dead connection goes unnoticed (plus `timeout` for the answer). The feed is lost
    /// when any of them is.
    pub(crate) fn redis(
        subs: Vec<(PubSubSink, PubSubStream)>,
        ping_every: Duration,
        timeout: Duration,
    ) -> Self {
        let start = tokio::time::Instant::now() + ping_every;
        let mut ping = tokio::time::interval_at(start, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            inner: Inner::Redis {
                subs,
                ping,
                timeout,
            },
        }
    }

    /// Wait for the next revocation. After [`FeedNews::Lost`] the feed is finished: subscribe
    /// again.
    pub async fn next(&mut self) -> FeedNews {
        match &mut self.inner {
            Inner::Memory(rx) => match rx.recv().await {
                Ok(e) => FeedNews::Revoked(e),
                // Lagged (missed messages) or closed (the store is gone).
                Err(_) => FeedNews::Lost,
            },
            Inner::Redis {
                subs,
                ping,
                timeout,
            } => loop {
                if subs.is_empty() {
                    return FeedNews::Lost;
                }
                let next_message =
                    futures_util::future::select_all(subs.iter_mut().map(|(_, s)| s.next()));
                tokio::select! {
                    (msg, _, _) = next_message => {
                        return match msg {
                            None => FeedNews::Lost,
                            Some(m) => match RevocationEvent::from_message(m.get_payload_bytes()) {
                                Some(e) => FeedNews::Revoked(e),
                                None => FeedNews::Unreadable,
                            },
                        };
                    }
                    _ = ping.tick() => {
                        for (sink, _) in subs.iter_mut() {
                            let answered =
                                tokio::time::timeout(*timeout, sink.ping::<::redis::Value>()).await;
                            if !matches!(answered, Ok(Ok(_))) {
                                tracing::warn!("revocation feed: no answer to a ping");
                                return FeedNews::Lost;
                            }
                        }
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let id = AccessKeyId::generate_temporary().unwrap();
        for e in [
            RevocationEvent::Session(id),
            RevocationEvent::Scope(RevocationScope::Role("arn:aws:iam::1:role/a/R".into())),
            RevocationEvent::Scope(RevocationScope::Principal(
                "arn:aws:sts::1:assumed-role/R/s".into(),
            )),
            RevocationEvent::Scope(RevocationScope::SourceIdentity("al\"ice".into())),
        ] {
            assert_eq!(
                RevocationEvent::from_message(e.to_message().as_bytes()),
                Some(e)
            );
        }
        for bad in [
            &b"nope"[..],
            b"{}",
            b"[]",
            b"{\"session\":\"AKIAIDBROKERDEMO0001x\"}",
            b"{\"session\":1}",
            b"{\"scope\":\"user\",\"value\":\"x\"}",
            b"{\"scope\":\"role\"}",
        ] {
            assert_eq!(RevocationEvent::from_message(bad), None);
        }
    }

    #[tokio::test]
    async fn memory_feed_reports_lag_as_lost() {
        let (tx, rx) = broadcast::channel(1);
        let mut feed = RevocationFeed::memory(rx);
        let e = RevocationEvent::Scope(RevocationScope::SourceIdentity("x".into()));
        tx.send(e.clone()).unwrap();
        assert_eq!(feed.next().await, FeedNews::Revoked(e.clone()));
        tx.send(e.clone()).unwrap();
        tx.send(e).unwrap();
        assert_eq!(feed.next().await, FeedNews::Lost);
    }
}
