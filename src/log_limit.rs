//! What the libraries idbroker uses log, bounded: each library module (a log target) is written
//! at most once per [`WINDOW`], the rest counted and reported by [`report_left_out`] ("... 12,345
//! more in the last 10 s"). The Redis client writes "Failed to connect to node" for every
//! request during a cluster failover (~4,000 lines a second were measured); one line per 10 s
//! says as much. idbroker's own messages are not touched: they are bounded where they are
//! written (`idbroker_session`'s store warnings, the audit's field bounds).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};

use crate::clock::Stopwatch;

/// One line per library log statement per window.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The filter: put it on the log layer with the level filter (`FilterExt::and`).
#[derive(Debug, Default)]
pub struct QuietLibraries {
    /// When each library target was last let through (time since `since`). Keyed by target,
    /// not callsite: events from the `log` crate (the Redis client's) share one callsite per
    /// level. Bounded by the number of library modules that log.
    last: Mutex<HashMap<String, Duration>>,
    left_out: AtomicU64,
}

fn since() -> &'static Stopwatch {
    static START: OnceLock<Stopwatch> = OnceLock::new();
    START.get_or_init(Stopwatch::start)
}

/// Is this one of idbroker's own messages (never limited here)?
fn ours(meta: &Metadata<'_>) -> bool {
    let t = meta.target();
    t == "idbroker" || t.starts_with("idbroker::") || t.starts_with("idbroker_") || t == "audit"
}

impl QuietLibraries {
    /// Let an event of `target` through at `now` (time since an origin)?
    fn admit(&self, target: &str, now: Duration) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(target) {
            Some(at) if now.saturating_sub(*at) < WINDOW => {
                self.left_out.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => {
                last.insert(target.to_owned(), now);
                true
            }
        }
    }

    /// The library lines left out since the last call (and reset the count).
    pub fn take_left_out(&self) -> u64 {
        self.left_out.swap(0, Ordering::Relaxed)
    }
}

impl<S: Subscriber> Filter<S> for &'static QuietLibraries {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, _: &Context<'_, S>) -> bool {
        let meta = event.metadata();
        ours(meta) || self.admit(meta.target(), since().elapsed())
    }
}

/// The one filter of the process.
pub fn quiet_libraries() -> &'static QuietLibraries {
    static QUIET: OnceLock<QuietLibraries> = OnceLock::new();
    QUIET.get_or_init(QuietLibraries::default)
}

/// Every [`WINDOW`], say how many library lines were left out, if any (a thread of its own, for
/// the life of the process).
pub fn report_left_out() {
    let spawned = std::thread::Builder::new()
        .name("log-limit".into())
        .spawn(|| loop {
            std::thread::sleep(WINDOW);
            let n = quiet_libraries().take_left_out();
            if n > 0 {
                tracing::warn!(
                    left_out = n,
                    "{n} more log lines from libraries (each repeated within 10 s) in the last 10 s"
                );
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("the library log limit cannot report: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: tracing::callsite::DefaultCallsite = tracing::callsite::DefaultCallsite::new(&META_A);
    static META_A: Metadata<'static> = tracing::metadata!(
        name: "a",
        target: "redis::cluster",
        level: tracing::Level::WARN,
        fields: &[],
        callsite: &A,
        kind: tracing::metadata::Kind::EVENT
    );

    #[test]
    fn one_line_per_module_per_window_and_the_rest_counted() {
        let q = QuietLibraries::default();
        let (a, b) = ("redis::cluster_handling", "rustls::conn");
        let t = Duration::from_secs(100);
        assert!(q.admit(a, t));
        // A failover's flood: one line per library module, the rest counted.
        for i in 0..4_000 {
            assert!(!q.admit(a, t + Duration::from_millis(i)));
        }
        assert!(q.admit(b, t));
        assert_eq!(q.take_left_out(), 4_000);
        assert_eq!(q.take_left_out(), 0);
        // The next window lets one through again.
        assert!(q.admit(a, t + WINDOW));
    }

    #[test]
    fn idbrokers_own_lines_are_not_limited_here() {
        assert!(!ours(&META_A));
        static C: tracing::callsite::DefaultCallsite =
            tracing::callsite::DefaultCallsite::new(&META_C);
        static META_C: Metadata<'static> = tracing::metadata!(
            name: "c",
            target: "idbroker::http",
            level: tracing::Level::WARN,
            fields: &[],
            callsite: &C,
            kind: tracing::metadata::Kind::EVENT
        );
        assert!(ours(&META_C));
    }
}
