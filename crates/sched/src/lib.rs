//! The server's threads under Linux's `SCHED_BATCH` scheduling policy.
//!
//! Why: AssumeRoleWithSAML hands each signature check from an async worker to a check thread
//! and the answer back (idbroker issue 13: checks must not run on the async workers). Under the
//! default policy every such wake-up preempts the thread running on that core (the woken thread
//! has slept, so it is "owed" CPU), and on a loaded machine two preemptions per request cost
//! ~15% of the CPU a call takes (docs/PERFORMANCE.md). Under `SCHED_BATCH` a woken thread does
//! not preempt the running one: it runs when that one blocks or its time slice ends. CPU shares
//! between threads stay fair (the same CFS accounting); only wake-up preemption goes.
//!
//! The policy is inherited by every thread created afterwards, so the caller sets it on the
//! main thread before the runtime starts its workers. It needs no privilege (a thread may always
//! move between `SCHED_OTHER` and `SCHED_BATCH` at static priority 0).

/// What the server's threads run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `SCHED_OTHER`, the kernel's default.
    Normal,
    /// `SCHED_BATCH`: no wake-up preemption.
    Batch,
}

/// Put the calling thread (and so every thread it creates afterwards) under `policy`.
/// Elsewhere than Linux only [`Policy::Normal`] is possible; `Batch` is an error there.
pub fn set_current_thread(policy: Policy) -> std::io::Result<()> {
    imp::set(policy)
}

/// The calling thread's policy; `None` when it is neither of [`Policy`]'s (a real-time one).
pub fn current_thread() -> std::io::Result<Option<Policy>> {
    imp::get()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use super::Policy;

    fn to_raw(policy: Policy) -> libc::c_int {
        match policy {
            Policy::Normal => libc::SCHED_OTHER,
            Policy::Batch => libc::SCHED_BATCH,
        }
    }

    pub fn set(policy: Policy) -> std::io::Result<()> {
        // Static priority 0 is the only one SCHED_OTHER and SCHED_BATCH accept.
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler(2) with pid 0 (the calling thread) reads `param`, a valid
        // sched_param that lives across the call, and keeps no pointer to it. It changes only
        // the calling thread's scheduling attributes; failure is reported through errno.
        let rc = unsafe { libc::sched_setscheduler(0, to_raw(policy), &param) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    pub fn get() -> std::io::Result<Option<Policy>> {
        // SAFETY: sched_getscheduler(2) with pid 0 takes no pointers and only reads the calling
        // thread's policy; failure is reported as -1 and errno.
        let rc = unsafe { libc::sched_getscheduler(0) };
        match rc {
            -1 => Err(std::io::Error::last_os_error()),
            libc::SCHED_OTHER => Ok(Some(Policy::Normal)),
            libc::SCHED_BATCH => Ok(Some(Policy::Batch)),
            _ => Ok(None),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Policy;

    pub fn set(policy: Policy) -> std::io::Result<()> {
        match policy {
            Policy::Normal => Ok(()),
            Policy::Batch => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "SCHED_BATCH exists only on Linux",
            )),
        }
    }

    pub fn get() -> std::io::Result<Option<Policy>> {
        Ok(Some(Policy::Normal))
    }
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Set on a thread, the policy holds there and is inherited by the threads it starts; it
    /// can be set back. (On a thread of its own: the test harness's threads are left alone.)
    #[test]
    fn batch_is_set_inherited_and_reversible() {
        std::thread::spawn(|| {
            set_current_thread(Policy::Batch).unwrap();
            assert_eq!(current_thread().unwrap(), Some(Policy::Batch));
            let child = std::thread::spawn(|| current_thread().unwrap())
                .join()
                .unwrap();
            assert_eq!(child, Some(Policy::Batch));
            set_current_thread(Policy::Normal).unwrap();
            assert_eq!(current_thread().unwrap(), Some(Policy::Normal));
        })
        .join()
        .unwrap();
    }
}
