//! Password work done ahead of a directory change. A change runs on an async worker, inside
//! the directory's one-at-a-time write path, and may be computed again when another replica's
//! change wins; argon2id there would hold the worker (up to 25 derivations for a ChangePassword
//! under PasswordReusePrevention 24). So the caller first runs the call on a copy of the
//! directory, off the workers, with a [`Recorder`]: every hash made and every check done is
//! kept. The change then runs with a [`Replay`] of that record, which answers what was
//! recorded and does anything else (the directory moved in between) with the real hasher.
//!
//! Invariants, enforced here:
//! - A replayed check is the answer the real hasher gave for that very hash and password; a
//!   check that was not recorded is computed, never assumed.
//! - A replayed hash is one the real hasher made for that very password (a fresh salt); a
//!   password that was not hashed ahead is hashed then.
//! - Passwords are held in zeroized buffers and dropped with the record.

use std::sync::Mutex;

use zeroize::Zeroizing;

use super::{Context, IamError, Passwords, SeedVault};
use crate::settings::SecretRef;

/// Run `call` (a use case over a copy of the directory) as a dry run at `now` for
/// `caller_user`: `hasher` does the password work and it is recorded; no access key or MFA
/// seed can be sealed. Returns what `call` answered and the record.
pub fn dry_run<T>(
    hasher: &dyn Passwords,
    now: std::time::SystemTime,
    caller_user: Option<&str>,
    loopback_providers: bool,
    call: impl FnOnce(&Context<'_>) -> T,
) -> (T, Recorded) {
    let recorder = Recorder::new(hasher);
    let refuse = |_: &str, _: &str| -> Result<SecretRef, IamError> {
        Err(IamError::ServiceFailure(
            "no access key is made in a dry run".into(),
        ))
    };
    let ctx = Context {
        now,
        caller_user,
        seal: &refuse,
        seeds: &NoSeeds,
        passwords: &recorder,
        loopback_providers,
    };
    let out = call(&ctx);
    (out, recorder.into_recorded())
}

/// What a [`Recorder`] saw: hashes made and checks done, in order.
#[derive(Default)]
pub struct Recorded {
    hashes: Vec<(Zeroizing<String>, String)>,
    checks: Vec<(String, Zeroizing<String>, bool)>,
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("hashes", &self.hashes.len())
            .field("checks", &self.checks.len())
            .finish()
    }
}

/// The real hasher, keeping what it did (for the dry run).
struct Recorder<'a> {
    inner: &'a dyn Passwords,
    seen: Mutex<Recorded>,
}

impl<'a> Recorder<'a> {
    /// Over `inner` (the server's hasher).
    fn new(inner: &'a dyn Passwords) -> Self {
        Recorder {
            inner,
            seen: Mutex::new(Recorded::default()),
        }
    }

    /// What was done.
    fn into_recorded(self) -> Recorded {
        self.seen.into_inner().unwrap_or_default()
    }
}

impl Passwords for Recorder<'_> {
    fn hash(&self, password: &str) -> Result<String, IamError> {
        let hash = self.inner.hash(password)?;
        if let Ok(mut seen) = self.seen.lock() {
            seen.hashes
                .push((Zeroizing::new(password.to_owned()), hash.clone()));
        }
        Ok(hash)
    }

    fn verify(&self, hash: &str, password: &str) -> bool {
        let ok = self.inner.verify(hash, password);
        if let Ok(mut seen) = self.seen.lock() {
            seen.checks
                .push((hash.to_owned(), Zeroizing::new(password.to_owned()), ok));
        }
        ok
    }
}

/// A record answered again, `fallback` for anything it does not hold.
pub struct Replay<'a> {
    recorded: Recorded,
    fallback: &'a dyn Passwords,
}

impl std::fmt::Debug for Replay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("recorded", &self.recorded)
            .finish_non_exhaustive()
    }
}

impl<'a> Replay<'a> {
    /// `recorded`, else `fallback` (the server's hasher).
    pub fn new(recorded: Recorded, fallback: &'a dyn Passwords) -> Self {
        Replay { recorded, fallback }
    }
}

impl Passwords for Replay<'_> {
    fn hash(&self, password: &str) -> Result<String, IamError> {
        match self
            .recorded
            .hashes
            .iter()
            .find(|(p, _)| p.as_str() == password)
        {
            Some((_, hash)) => Ok(hash.clone()),
            None => self.fallback.hash(password),
        }
    }

    fn verify(&self, hash: &str, password: &str) -> bool {
        match self
            .recorded
            .checks
            .iter()
            .find(|(h, p, _)| h == hash && p.as_str() == password)
        {
            Some((_, _, ok)) => *ok,
            None => self.fallback.verify(hash, password),
        }
    }
}

/// Seeds for a dry run: none (a call that needs one fails there, and runs for real later).
#[derive(Debug)]
struct NoSeeds;

impl SeedVault for NoSeeds {
    fn seal(&self, _serial: &str, _seed: &[u8]) -> Result<SecretRef, IamError> {
        Err(IamError::ServiceFailure("no seed is sealed here".into()))
    }

    fn open(&self, _serial: &str, _sealed: &SecretRef) -> Result<Zeroizing<Vec<u8>>, IamError> {
        Err(IamError::ServiceFailure("no seed is opened here".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A hasher that counts its work: `h(p)` for p, checks by equality.
    #[derive(Default)]
    struct Counting {
        hashes: AtomicUsize,
        checks: AtomicUsize,
    }

    impl Passwords for Counting {
        fn hash(&self, password: &str) -> Result<String, IamError> {
            let n = self.hashes.fetch_add(1, Ordering::SeqCst);
            Ok(format!("h{n}({password})"))
        }

        fn verify(&self, hash: &str, password: &str) -> bool {
            self.checks.fetch_add(1, Ordering::SeqCst);
            hash.ends_with(&format!("({password})"))
        }
    }

    #[test]
    fn a_replay_answers_what_was_recorded_without_the_hasher() {
        let real = Counting::default();
        let rec = Recorder::new(&real);
        assert!(rec.verify("h9(old)", "old"));
        assert!(!rec.verify("h8(x)", "new"));
        let made = rec.hash("new").unwrap();
        let recorded = rec.into_recorded();
        assert_eq!(real.checks.load(Ordering::SeqCst), 2);
        assert_eq!(real.hashes.load(Ordering::SeqCst), 1);

        let later = Counting::default();
        let replay = Replay::new(recorded, &later);
        assert!(replay.verify("h9(old)", "old"));
        assert!(!replay.verify("h8(x)", "new"));
        assert_eq!(replay.hash("new").unwrap(), made);
        assert_eq!(later.checks.load(Ordering::SeqCst), 0);
        assert_eq!(later.hashes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn what_was_not_recorded_is_computed_never_assumed() {
        let real = Counting::default();
        let rec = Recorder::new(&real);
        assert!(!rec.verify("h1(a)", "b"));
        rec.hash("a").unwrap();
        let later = Counting::default();
        let replay = Replay::new(rec.into_recorded(), &later);
        // Another hash (the directory moved), another password: the real answer.
        assert!(replay.verify("h2(b)", "b"));
        assert!(!replay.verify("h1(a)", "c"));
        assert_eq!(later.checks.load(Ordering::SeqCst), 2);
        assert_eq!(replay.hash("b").unwrap(), "h0(b)");
        assert_eq!(later.hashes.load(Ordering::SeqCst), 1);
    }
}
