//! Where SAML signature checks run: off the async workers, a bounded number at a time, each
//! answered within a bounded time.
//!
//! A check is CPU work in libxml2 and xmlsec (~0.2 ms for a typical response). Run on an async
//! worker, one check that does not end (a libxml2 or xmlsec defect, or a document crafted to be
//! slow) would stop that worker and everything queued on it, `/healthz` included. Here checks
//! run on `max_in_flight` threads of their own, started on first use and ended when the pool is
//! dropped. A caller waits at most `timeout` from arrival (in the queue, then for the result)
//! before it gets [`PoolError`], which the STS and console map to a prompt "service
//! unavailable" answer; a queued check whose caller stopped waiting is skipped. A check that
//! never ended would keep its thread, so such checks can never hold more than `max_in_flight`
//! threads.
//!
//! Why dedicated threads and not `spawn_blocking`: tokio's blocking pool hands each check to
//! whichever of its (many, per runtime) threads is idle, and under load it grew to dozens of
//! threads, each with its own allocator arenas and cold caches: AssumeRoleWithSAML cost ~20%
//! more CPU per call than on the async worker. A fixed, small set of threads costs about what
//! the hand-off itself costs (docs/PERFORMANCE.md).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Default bound on checks in flight: the cores (at least 2).
pub fn default_max_in_flight() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(2)
}

/// Default time a caller waits for its check, milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;

/// Checks that may wait in the queue, per thread. Each holds its request's response text (at
/// most `MAX_ASSERTION_CHARS`), and one whose caller gave up stays queued until a thread skips
/// it: without a bound, threads held by checks that never end would let the queue, and the
/// memory behind it, grow with every request. Past it a caller is told at once ([`PoolError::Busy`]).
/// 256 is ~50 ms of checks per thread, far more than the connections a worker serves at once.
pub const QUEUED_PER_THREAD: usize = 256;

/// Why a check did not give an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The check did not start within the timeout (every thread busy), or the queue was
    /// full; it never will.
    Busy,
    /// The check did not finish within the timeout (it keeps its thread until it does).
    TimedOut,
    /// The check panicked (it is not retried), or the pool is gone.
    Failed,
}

type Job = Box<dyn FnOnce() + Send>;

/// Bounded, timed execution of blocking checks. Cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct CheckPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The jobs waiting for a thread, shared with the threads (started on first use).
    queue: OnceLock<Arc<Queue>>,
    max_in_flight: usize,
    /// Most checks waiting in the queue.
    max_queued: usize,
    timeout: Duration,
}

/// A plain multi-consumer queue: one wake-up per job (a thread waiting on the condition
/// variable), where a shared `mpsc::Receiver` behind a mutex costs two.
struct Queue {
    jobs: Mutex<QueueState>,
    ready: Condvar,
}

struct QueueState {
    jobs: VecDeque<Job>,
    /// Set when the pool is dropped: the threads finish what is queued and end.
    closed: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queue")
    }
}

/// What became of a job handed to the queue.
enum Pushed {
    Queued,
    /// `max_queued` jobs are waiting already.
    Full,
    /// The pool is gone.
    Closed,
}

impl Queue {
    fn push(&self, job: Job, max_queued: usize) -> Pushed {
        match self.jobs.lock() {
            Ok(state) if state.closed => Pushed::Closed,
            Ok(state) if state.jobs.len() >= max_queued => Pushed::Full,
            Ok(mut state) => {
                state.jobs.push_back(job);
                self.ready.notify_one();
                Pushed::Queued
            }
            Err(_) => Pushed::Closed,
        }
    }

    /// The next job; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut state = self.jobs.lock().ok()?;
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.ready.wait(state).ok()?;
        }
    }

    fn close(&self) {
        if let Ok(mut state) = self.jobs.lock() {
            state.closed = true;
        }
        self.ready.notify_all();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(queue) = self.queue.get() {
            queue.close();
        }
    }
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
    /// At most `max_in_flight` (at least 1) checks at once and [`QUEUED_PER_THREAD`] waiting
    /// per thread; callers wait at most `timeout`.
    pub fn new(max_in_flight: usize, timeout: Duration) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self::with_queue_limit(
            max_in_flight,
            timeout,
            max_in_flight.saturating_mul(QUEUED_PER_THREAD),
        )
    }

    /// As [`CheckPool::new`], with at most `max_queued` (at least 1) checks waiting.
    fn with_queue_limit(max_in_flight: usize, timeout: Duration, max_queued: usize) -> Self {
        CheckPool {
            inner: Arc::new(Inner {
                queue: OnceLock::new(),
                max_in_flight: max_in_flight.max(1),
                max_queued: max_queued.max(1),
                timeout,
            }),
        }
    }

    /// The bound on checks in flight.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight
    }

    /// The time a caller waits at most.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The queue, starting the threads the first time. Each thread takes the next job until the
    /// pool is dropped, and survives a job that panics.
    fn queue(&self) -> &Queue {
        self.inner.queue.get_or_init(|| {
            let queue = Arc::new(Queue {
                jobs: Mutex::new(QueueState {
                    jobs: VecDeque::new(),
                    closed: false,
                }),
                ready: Condvar::new(),
            });
            for i in 0..self.inner.max_in_flight {
                let q = queue.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("saml-check-{i}"))
                    .spawn(move || {
                        while let Some(job) = q.pop() {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                    });
                if let Err(e) = spawned {
                    // Fewer threads than asked (the system refused one): checks still run on
                    // the others; with none at all every caller times out (503).
                    tracing::error!(error = %e, "could not start a SAML check thread");
                }
            }
            queue
        })
    }

    /// Run `check` on one of the pool's threads; the answer, or [`PoolError`] when `timeout`
    /// (counted from this call) passes first.
    pub async fn run<T, F>(&self, check: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // Tokio's clock, not the application clock: this bounds real waiting, it decides
        // nothing about validity.
        let deadline = tokio::time::Instant::now() + self.inner.timeout;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let job: Job = Box::new(move || {
            // The caller stopped waiting: skip the work.
            if tx.is_closed() {
                return;
            }
            flag.store(true, Ordering::Release);
            let _ = tx.send(check());
        });
        match self.queue().push(job, self.inner.max_queued) {
            Pushed::Queued => {}
            Pushed::Full => return Err(PoolError::Busy),
            Pushed::Closed => return Err(PoolError::Failed),
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(PoolError::Failed),
            Err(_) if started.load(Ordering::Acquire) => Err(PoolError::TimedOut),
            Err(_) => Err(PoolError::Busy),
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

    /// The queue is bounded: with the thread held and the queue full, the next caller is
    /// refused at once (not after the timeout), and nothing more is queued.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_refuses_at_once() {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let pool = CheckPool::with_queue_limit(1, Duration::from_secs(60), 2);
        let mut cx = Context::from_waker(Waker::noop());
        let (release, stuck) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let mut held = Box::pin(pool.run(move || {
            let _ = started_tx.send(());
            stuck.recv().is_ok()
        }));
        assert!(held.as_mut().poll(&mut cx).is_pending());
        started.recv_timeout(Duration::from_secs(10)).unwrap();
        let mut waiting: Vec<_> = (0..2).map(|_| Box::pin(pool.run(|| true))).collect();
        for w in &mut waiting {
            assert!(w.as_mut().poll(&mut cx).is_pending());
        }
        let mut over = Box::pin(pool.run(|| true));
        assert_eq!(
            over.as_mut().poll(&mut cx),
            Poll::Ready(Err(PoolError::Busy))
        );
        assert_eq!(pool.queue().jobs.lock().unwrap().jobs.len(), 2);
        release.send(()).unwrap();
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
