//! Where SAML signature checks run: off the async workers, a bounded number at a time, each
//! answered within a bounded time.
//!
//! A check is CPU work in libxml2 and xmlsec (~0.2 ms for a typical response). Run on an async
//! worker, one check that does not end (a libxml2 or xmlsec defect, or a document crafted to be
//! slow) would stop that worker and everything queued on it, `/healthz` included. Here each check
//! runs on the runtime's blocking threads; at most `max_in_flight` run at once (a check that
//! never ends keeps its slot, so such checks cannot take more than that many threads), and a
//! caller waits at most `timeout` from arrival (for a slot, then for the result) before it gets
//! [`PoolError`], which the STS and console map to a prompt "service unavailable" answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Default bound on checks in flight: twice the cores (at least 2).
pub fn default_max_in_flight() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_mul(2)
        .max(2)
}

/// Default time a caller waits for its check, milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;

/// Why a check did not give an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// No slot became free within the timeout.
    Busy,
    /// The check did not finish within the timeout (it keeps its slot until it does).
    TimedOut,
    /// The check panicked (it is not retried).
    Failed,
}

/// Bounded, timed execution of blocking checks. Cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct CheckPool {
    slots: Arc<Semaphore>,
    max_in_flight: usize,
    timeout: Duration,
}

impl Default for CheckPool {
    fn default() -> Self {
        CheckPool::new(
            default_max_in_flight(),
            Duration::from_millis(DEFAULT_TIMEOUT_MS),
        )
    }
}

impl CheckPool {
    /// At most `max_in_flight` (at least 1) checks at once; callers wait at most `timeout`.
    pub fn new(max_in_flight: usize, timeout: Duration) -> Self {
        let max_in_flight = max_in_flight.max(1);
        CheckPool {
            slots: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            timeout,
        }
    }

    /// The bound on checks in flight.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The time a caller waits at most.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Run `check` on a blocking thread once a slot is free; the answer, or [`PoolError`] when
    /// `timeout` (counted from this call) passes first.
    pub async fn run<T, F>(&self, check: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // Tokio's clock, not the application clock: this bounds real waiting, it decides
        // nothing about validity.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| PoolError::Busy)?
            .map_err(|_| PoolError::Busy)?;
        let task = tokio::task::spawn_blocking(move || {
            // The slot is released when the check ends, not when the caller stops waiting.
            let _slot = slot;
            check()
        });
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(PoolError::Failed),
            Err(_) => Err(PoolError::TimedOut),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "current_thread")]
    async fn answers_come_back() {
        let pool = CheckPool::new(2, Duration::from_secs(5));
        assert_eq!(pool.run(|| 40 + 2).await, Ok(42));
    }

    /// A check that never ends keeps its slot; the next caller is told promptly, and the async
    /// runtime (this test's only thread) keeps running.
    #[tokio::test(flavor = "current_thread")]
    async fn a_stuck_check_bounds_the_pool_not_the_runtime() {
        let pool = CheckPool::new(1, Duration::from_millis(100));
        let (release, stuck) = mpsc::channel::<()>();
        let first = pool.run(move || stuck.recv().is_ok()).await;
        assert_eq!(first, Err(PoolError::TimedOut));
        // The slot is still held by the stuck check.
        assert_eq!(pool.run(|| ()).await, Err(PoolError::Busy));
        release.send(()).unwrap();
        // Once it ends, the slot is free again.
        let mut answer = Err(PoolError::Busy);
        for _ in 0..50 {
            answer = pool.run(|| 7).await;
            if answer.is_ok() {
                break;
            }
        }
        assert_eq!(answer, Ok(7));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_check_is_an_error_not_a_crash() {
        let pool = CheckPool::new(1, Duration::from_secs(5));
        #[allow(clippy::panic)]
        let answer: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(answer, Err(PoolError::Failed));
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }
}
