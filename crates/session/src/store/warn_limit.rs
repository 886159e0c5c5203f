//! Warnings that an outage can repeat thousands of times a second (every failed store call
//! would write one) are written at most once per [`WARN_EVERY_MS`] per kind, each saying how
//! many were left out since the last one written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

/// At most one warning of a kind per this many milliseconds.
pub(crate) const WARN_EVERY_MS: u64 = 10_000;

const NEVER: u64 = u64::MAX;

/// The rate limit of one kind of warning.
pub(crate) struct WarnLimit {
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl WarnLimit {
    /// A limit that has written nothing yet.
    pub(crate) const fn new() -> Self {
        WarnLimit {
            last_ms: AtomicU64::new(NEVER),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Should this occurrence, at `now_ms`, be written? `Some(n)`: yes, and `n` were left out
    /// since the last one written; `None`: no (it is counted).
    pub(crate) fn admit(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Acquire);
        let due = last == NEVER || now_ms >= last.saturating_add(WARN_EVERY_MS);
        if !due
            || self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }

    /// [`WarnLimit::admit`] at the process's monotonic time (tokio's clock).
    pub(crate) fn admit_now(&self) -> Option<u64> {
        static START: LazyLock<tokio::time::Instant> = LazyLock::new(tokio::time::Instant::now);
        let ms = u64::try_from(START.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.admit(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_window_with_the_count_left_out() {
        let l = WarnLimit::new();
        assert_eq!(l.admit(0), Some(0));
        for t in 1..1000 {
            assert_eq!(l.admit(t), None);
        }
        assert_eq!(l.admit(WARN_EVERY_MS - 1), None);
        assert_eq!(l.admit(WARN_EVERY_MS), Some(1000));
        assert_eq!(l.admit(WARN_EVERY_MS + 1), None);
        assert_eq!(l.admit(3 * WARN_EVERY_MS), Some(1));
        assert_eq!(l.admit(u64::MAX - 1), Some(0));
    }
}
