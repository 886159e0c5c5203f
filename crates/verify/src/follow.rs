//! The task that follows the store's revocation feed into the verifier's cache.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use idbroker_session::{FeedNews, SessionStore};

use crate::cache::Cache;

/// Follow the store's revocations into `cache`, reconnecting with a capped backoff, until the
/// verifier is dropped (the task is aborted) or the store says it announces nothing.
pub(crate) async fn follow_revocations(store: Arc<dyn SessionStore>, cache: Arc<Cache>) {
    const FIRST_RETRY: Duration = Duration::from_millis(50);
    const LAST_RETRY: Duration = Duration::from_secs(2);
    let mut retry = FIRST_RETRY;
    loop {
        match store.subscribe_revocations().await {
            Ok(None) => {
                tracing::info!("the session store announces no revocations: cache TTL only");
                return;
            }
            Ok(Some(mut feed)) => {
                // Whatever was revoked while no feed was up is unknown here: start afresh.
                cache.clear();
                cache.feed_up.store(true, Ordering::Release);
                retry = FIRST_RETRY;
                loop {
                    match feed.next().await {
                        FeedNews::Revoked(event) => cache.evict(&event),
                        FeedNews::Unreadable => cache.clear(),
                        FeedNews::Lost => break,
                    }
                }
                cache.feed_up.store(false, Ordering::Release);
                tracing::warn!(
                    "revocation feed lost; reconnecting (meanwhile revocations are seen within the cache TTL)"
                );
            }
            Err(e) => tracing::warn!(error = %e, "revocation feed: cannot subscribe; retrying"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}
