//! The task that follows the source's event stream into the verifier's cache.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::Cache;
use crate::source::{KeySource, SourceNews};

/// Follow `source`'s events (for the verifier of `service`) into `cache`, subscribing again
/// with a capped backoff, until the verifier is dropped (the task is aborted) or the source
/// says it announces nothing.
pub(crate) async fn follow_events(
    source: Arc<dyn KeySource>,
    service: Option<String>,
    cache: Arc<Cache>,
) {
    const FIRST_RETRY: Duration = Duration::from_millis(50);
    const LAST_RETRY: Duration = Duration::from_secs(2);
    let mut retry = FIRST_RETRY;
    loop {
        match source.events(service.as_deref()).await {
            Ok(None) => {
                tracing::info!("the key source announces no revocations: cache TTL only");
                return;
            }
            Ok(Some(mut stream)) => {
                // Whatever was revoked while no stream was up is unknown here: start afresh.
                cache.clear();
                cache.feed_up.store(true, Ordering::Release);
                retry = FIRST_RETRY;
                loop {
                    match stream.next().await {
                        SourceNews::Revoked(event) => cache.evict(&event),
                        SourceNews::Policies(version) => cache.policies(version),
                        SourceNews::Reset => {
                            cache.clear();
                            cache.feed_up.store(true, Ordering::Release);
                        }
                        SourceNews::Alive => {}
                        SourceNews::Down => cache.feed_up.store(false, Ordering::Release),
                        SourceNews::Lost => break,
                    }
                }
                cache.feed_up.store(false, Ordering::Release);
                tracing::warn!(
                    "revocation stream lost; subscribing again (meanwhile revocations are seen within the cache TTL)"
                );
            }
            Err(e) => tracing::warn!(error = %e, "revocation stream: cannot subscribe; retrying"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}
