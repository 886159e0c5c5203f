//! The process's one follower of the store's revocation feed, for `GET /verify/events`: one
//! task ([`RevocationHub::follow`], spawned by `build_state`) reads
//! `SessionStore::subscribe_revocations`, reconnects with a capped backoff when the feed is lost,
//! and fans what it learns out to every open event stream through a bounded broadcast channel
//! ([`HubNews`]). However many streams are open, the store sees one subscription per process.
//!
//! The hub also counts the open streams ([`RevocationHub::open_stream`]): at most
//! [`MAX_STREAMS`] at once, each holding a [`StreamSlot`] until it ends.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idbroker_session::{FeedNews, RevocationEvent, SessionStore};
use tokio::sync::broadcast;

use crate::metrics::Metrics;

/// What the hub tells its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubNews {
    /// A revocation, as the store announced it.
    Revoked(RevocationEvent),
    /// Revocations may have been missed (an unreadable message on the feed): forget everything.
    Reset,
    /// The feed is lost: until [`HubNews::Up`], revocations reach nobody through the hub.
    Down,
    /// The feed is (back) up. Whatever was revoked while it was down is unknown.
    Up,
    /// The directory in force changed (its new version): what was granted under the old one
    /// may no longer hold.
    Policies(String),
}

/// News a subscriber may fall behind by before it lags (and is told to forget everything).
pub const CHANNEL_BOUND: usize = 4096;

/// Event streams open at once in one process, at most.
pub const MAX_STREAMS: usize = 1024;

/// The first wait before subscribing again after a lost feed, doubled after each failure ...
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// ... up to this.
const LAST_RETRY: Duration = Duration::from_secs(2);

/// The revocation feed of the process, shared by every worker (`AppState::revocations`).
#[derive(Debug)]
pub struct RevocationHub {
    news: broadcast::Sender<HubNews>,
    up: AtomicBool,
    streams: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl RevocationHub {
    /// A hub with no feed yet (down until [`RevocationHub::follow`] subscribes).
    pub fn new(metrics: Arc<Metrics>) -> Self {
        let (news, _) = broadcast::channel(CHANNEL_BOUND);
        RevocationHub {
            news,
            up: AtomicBool::new(false),
            streams: AtomicUsize::new(0),
            metrics,
        }
    }

    /// News from now on. Subscribe first, then read [`RevocationHub::feed_up`]: a change in
    /// between is also in the news.
    pub fn subscribe(&self) -> broadcast::Receiver<HubNews> {
        self.news.subscribe()
    }

    /// Whether the store's feed is up: every revocation written reaches the subscribers.
    pub fn feed_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// A place for one more event stream, or `None` when [`MAX_STREAMS`] are open.
    pub fn open_stream(self: &Arc<Self>) -> Option<StreamSlot> {
        let taken = self
            .streams
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_STREAMS).then_some(n + 1)
            })
            .ok()?;
        self.metrics.event_streams(taken + 1);
        Some(StreamSlot(Arc::clone(self)))
    }

    /// Event streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    /// Tell every subscriber that the directory's new version `version` is in force.
    pub fn policies_changed(&self, version: String) {
        let _ = self.news.send(HubNews::Policies(version));
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Release);
        // No subscriber is not an error: the news is for streams that exist.
        let _ = self.news.send(if up { HubNews::Up } else { HubNews::Down });
    }

    /// Follow `store`'s revocations into the hub for as long as the process runs, subscribing
    /// again (50 ms, doubling to 2 s) whenever the feed is lost or cannot be had. Returns only
    /// when the store announces no revocations: then the hub is never up.
    pub async fn follow(self: Arc<Self>, store: Arc<dyn SessionStore>) {
        let mut retry = FIRST_RETRY;
        let mut lost = false;
        loop {
            match store.subscribe_revocations().await {
                Ok(None) => {
                    tracing::info!(
                        "the session store announces no revocations: /verify/events streams say `down` (verifiers fall back to their cache TTL)"
                    );
                    return;
                }
                Ok(Some(mut feed)) => {
                    if lost {
                        tracing::info!("revocation feed (for /verify/events) back up");
                    }
                    retry = FIRST_RETRY;
                    self.set_up(true);
                    loop {
                        match feed.next().await {
                            FeedNews::Revoked(e) => {
                                let _ = self.news.send(HubNews::Revoked(e));
                            }
                            FeedNews::Unreadable => {
                                let _ = self.news.send(HubNews::Reset);
                            }
                            FeedNews::Lost => break,
                        }
                    }
                    self.set_up(false);
                    lost = true;
                    tracing::warn!(
                        "revocation feed (for /verify/events) lost; subscribing again (meanwhile the streams say `down`)"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "revocation feed (for /verify/events): cannot subscribe; retrying");
                }
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(LAST_RETRY);
        }
    }
}

/// One open event stream, counted until it is dropped.
#[derive(Debug)]
pub struct StreamSlot(Arc<RevocationHub>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let before = self.0.streams.fetch_sub(1, Ordering::AcqRel);
        self.0.metrics.event_streams(before.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbroker_session::{MemoryStore, RevocationScope};

    fn hub() -> Arc<RevocationHub> {
        Arc::new(RevocationHub::new(Arc::new(Metrics::new())))
    }

    async fn news(rx: &mut broadcast::Receiver<HubNews>) -> HubNews {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn relays_the_stores_revocations_and_is_up() {
        let hub = hub();
        let store = Arc::new(MemoryStore::new());
        let mut rx = hub.subscribe();
        assert!(!hub.feed_up());
        let task = tokio::spawn(Arc::clone(&hub).follow(store.clone()));
        assert_eq!(news(&mut rx).await, HubNews::Up);
        assert!(hub.feed_up());
        let scope = RevocationScope::SourceIdentity("alice".into());
        store.set_revoked_before(&scope, 10, 100).await.unwrap();
        assert_eq!(
            news(&mut rx).await,
            HubNews::Revoked(RevocationEvent::Scope(scope))
        );
        task.abort();
    }

    #[test]
    fn streams_are_bounded_and_counted() {
        let hub = hub();
        let slots: Vec<StreamSlot> = (0..MAX_STREAMS)
            .map(|_| hub.open_stream().unwrap())
            .collect();
        assert!(hub.open_stream().is_none());
        assert_eq!(hub.open_streams(), MAX_STREAMS);
        drop(slots);
        assert_eq!(hub.open_streams(), 0);
        assert!(hub.open_stream().is_some());
        assert!(hub
            .metrics
            .render()
            .contains("idbroker_verify_event_streams 0"));
    }
}
