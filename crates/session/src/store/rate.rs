//! Rate limits kept in the store, so that every replica draws from the same buckets: GCRA (the
//! generic cell rate algorithm), one value per bucket.
//!
//! A bucket is its theoretical arrival time (TAT, microseconds since the Unix epoch): the time
//! at which it would be empty again. A request at `now` is admitted when
//! `max(TAT, now) + interval - now <= interval * burst`, and then moves the TAT by `interval`; a
//! bucket that has been idle long enough is simply absent (its key expires at its TAT). So a
//! bucket admits `burst` requests at once and one more every `interval` after that, and costs
//! one key of a few bytes while it is in use.
//!
//! [`take`] is the rule; the Redis backend runs the same rule in one Lua script ([`GCRA_SCRIPT`])
//! and the in-process backend in [`LocalBuckets`]. A call names all its buckets at once and is
//! admitted only if every one of them has room; then each is charged (all or nothing, on a
//! standalone Redis and in-process; on a cluster, one bucket at a time, since its keys live in
//! different slots).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A rate: `burst` requests at once, then one every `interval_us` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    interval_us: u64,
    burst: u32,
}

impl RateLimit {
    /// `per_second` requests per second on average (more than 0, at most 1,000,000), `burst`
    /// at once (1 or more). `None` for values outside those bounds.
    pub fn per_second(per_second: f64, burst: u32) -> Option<Self> {
        if !(per_second > 0.0 && per_second <= 1_000_000.0) || burst == 0 {
            return None;
        }
        // At most 10^6 / 10^-6 = 10^12 µs: exact in f64, and in u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let interval_us = (1_000_000.0 / per_second).round().max(1.0) as u64;
        Some(Self { interval_us, burst })
    }

    /// Microseconds between two requests, on average.
    pub fn interval_us(&self) -> u64 {
        self.interval_us
    }

    /// Requests admitted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// How far ahead of `now` a bucket's TAT may run.
    fn tolerance_us(&self) -> u64 {
        self.interval_us.saturating_mul(u64::from(self.burst))
    }
}

/// One bucket a call draws from: its name (the store adds its prefix; callers hash what an
/// outsider chose, so names are bounded) and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateBucket {
    /// `throttle:ACTION:KIND:HASH`-like; at most [`MAX_BUCKET_NAME`] bytes of
    /// `[A-Za-z0-9:_-]`.
    pub name: String,
    /// Its rate.
    pub limit: RateLimit,
}

/// The longest bucket name a store accepts.
pub const MAX_BUCKET_NAME: usize = 200;

/// Every bucket name of a call is one the store accepts, or [`SessionError::Invalid`].
pub(crate) fn check_buckets(buckets: &[RateBucket]) -> Result<(), crate::SessionError> {
    if buckets.iter().all(|b| check_bucket_name(&b.name)) {
        Ok(())
    } else {
        Err(crate::SessionError::Invalid("rate bucket name"))
    }
}

/// Is `name` a bucket name the store accepts (bounded, no characters that could make a Redis
/// hash tag or a separator of their own)?
fn check_bucket_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_BUCKET_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'))
}

/// What the store said of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Every bucket had room; each was charged one request.
    Admitted,
    /// Bucket number `bucket` (an index into the slice given) is empty; nothing was charged
    /// (except, on a cluster, the buckets before it). It has room again after `retry_after`.
    Limited {
        /// Which bucket.
        bucket: usize,
        /// When it has room again.
        retry_after: Duration,
    },
}

/// The GCRA rule for one bucket: its new TAT if a request at `now` is admitted, or how long
/// until one would be (both in microseconds).
pub fn take(tat: Option<u64>, now: u64, limit: RateLimit) -> Result<u64, u64> {
    let start = tat.map_or(now, |t| t.max(now));
    let next = start.saturating_add(limit.interval_us);
    let ahead = next - now;
    let tolerance = limit.tolerance_us();
    if ahead > tolerance {
        Err(ahead - tolerance)
    } else {
        Ok(next)
    }
}

/// The rule of [`take`] for every bucket of a call at once, in Redis.
///
/// KEYS: the buckets. ARGV[1]: now (µs); then per bucket its interval (µs) and burst.
/// Returns `{0, 0}` when admitted (every key then holds its new TAT, expiring at it), or
/// `{i, retry_after_us}` for the first bucket `i` (1-based) without room (nothing written).
/// Times are below 2^53 µs (year 2255), exact in Lua's doubles.
pub const GCRA_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = interval * tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if tat < now then tat = now end
  local nxt = tat + interval
  if nxt - now > tolerance then return {i, nxt - now - tolerance} end
  tats[i] = nxt
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
end
return {0, 0}
";

/// In-process buckets (the memory store's): the same rule, behind a lock held for a few
/// lookups.
///
/// Bounded: idle buckets (TAT in the past) are dropped once more than [`LocalBuckets::SWEEP_AT`]
/// are held; if [`LocalBuckets::MAX`] buckets are all in use at once, a call that needs a new
/// one is limited (refused for a second) rather than let the map grow without bound.
#[derive(Debug, Default)]
pub struct LocalBuckets {
    tats: Mutex<HashMap<String, u64>>,
}

impl LocalBuckets {
    /// Buckets held before idle ones are swept.
    pub const SWEEP_AT: usize = 10_000;
    /// Buckets held at most.
    pub const MAX: usize = 1_000_000;

    /// Charge every bucket of `buckets` one request at `now` (µs), or none.
    pub fn admit(&self, buckets: &[RateBucket], now: u64) -> Admission {
        // A poisoned lock means a panic while holding it; the map itself is still sound (every
        // update is one insert), so keep using it.
        let mut tats = self
            .tats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = Vec::with_capacity(buckets.len());
        for (i, b) in buckets.iter().enumerate() {
            match take(tats.get(&b.name).copied(), now, b.limit) {
                Ok(tat) => next.push(tat),
                Err(wait) => {
                    return Admission::Limited {
                        bucket: i,
                        retry_after: Duration::from_micros(wait),
                    }
                }
            }
        }
        if tats.len() >= Self::SWEEP_AT {
            tats.retain(|_, tat| *tat > now);
        }
        for (i, b) in buckets.iter().enumerate() {
            if tats.len() >= Self::MAX && !tats.contains_key(&b.name) {
                return Admission::Limited {
                    bucket: i,
                    retry_after: Duration::from_secs(1),
                };
            }
        }
        for (b, tat) in buckets.iter().zip(next) {
            tats.insert(b.name.clone(), tat);
        }
        Admission::Admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(rate: f64, burst: u32) -> RateLimit {
        RateLimit::per_second(rate, burst).unwrap_or(RateLimit {
            interval_us: 1,
            burst: 1,
        })
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(RateLimit::per_second(0.0, 1), None);
        assert_eq!(RateLimit::per_second(-1.0, 1), None);
        assert_eq!(RateLimit::per_second(f64::NAN, 1), None);
        assert_eq!(RateLimit::per_second(f64::INFINITY, 1), None);
        assert_eq!(RateLimit::per_second(10.0, 0), None);
        assert_eq!(limit(10.0, 3).interval_us(), 100_000);
        assert_eq!(limit(0.5, 1).interval_us(), 2_000_000);
        assert_eq!(limit(1_000_000.0, 1).interval_us(), 1);
    }

    #[test]
    fn a_bucket_admits_its_burst_then_its_rate() {
        let l = limit(10.0, 3); // 100 ms apart, 3 at once
        let now = 1_000_000_000;
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(take(tat, now, l).unwrap_or(0));
        }
        // The fourth at the same instant waits 100 ms, and nothing is charged.
        assert_eq!(take(tat, now, l), Err(100_000));
        assert_eq!(take(tat, now + 99_999, l), Err(1));
        // One interval later there is room for exactly one.
        let t = take(tat, now + 100_000, l);
        assert!(t.is_ok());
        assert!(take(t.ok(), now + 100_000, l).is_err());
        // Idle for a long time: a full burst again.
        let mut tat = t.ok();
        for _ in 0..3 {
            tat = Some(take(tat, now + 10_000_000, l).unwrap_or(0));
        }
        assert!(take(tat, now + 10_000_000, l).is_err());
    }

    #[test]
    fn all_or_nothing() {
        let buckets = LocalBuckets::default();
        let small = RateBucket {
            name: "throttle:a:source:1".into(),
            limit: limit(1.0, 1),
        };
        let big = RateBucket {
            name: "throttle:a:provider:p".into(),
            limit: limit(1.0, 5),
        };
        let now = 5_000_000;
        let both = [big.clone(), small.clone()];
        assert_eq!(buckets.admit(&both, now), Admission::Admitted);
        // The small bucket is empty: refused, and the big one is not charged for it.
        for _ in 0..10 {
            assert!(matches!(
                buckets.admit(&both, now),
                Admission::Limited { bucket: 1, .. }
            ));
        }
        // The big bucket alone still has 4 of its 5.
        for _ in 0..4 {
            assert_eq!(
                buckets.admit(std::slice::from_ref(&big), now),
                Admission::Admitted
            );
        }
        assert!(matches!(
            buckets.admit(std::slice::from_ref(&big), now),
            Admission::Limited { bucket: 0, .. }
        ));
    }

    #[test]
    fn idle_buckets_are_swept() {
        let buckets = LocalBuckets::default();
        let l = limit(1000.0, 1);
        for i in 0..LocalBuckets::SWEEP_AT + 5 {
            let b = RateBucket {
                name: format!("throttle:x:source:{i}"),
                limit: l,
            };
            assert_eq!(buckets.admit(&[b], 1_000), Admission::Admitted);
        }
        let b = RateBucket {
            name: "throttle:x:source:new".into(),
            limit: l,
        };
        // Much later every old bucket is idle: the sweep drops them.
        assert_eq!(buckets.admit(&[b], 10_000_000), Admission::Admitted);
        let held = buckets.tats.lock().map(|t| t.len()).unwrap_or(usize::MAX);
        assert_eq!(held, 1);
    }

    #[test]
    fn bucket_names() {
        assert!(check_bucket_name("throttle:AssumeRole:principal:ab12"));
        assert!(!check_bucket_name(""));
        assert!(!check_bucket_name("a{b}"));
        assert!(!check_bucket_name("a b"));
        assert!(!check_bucket_name(&"a".repeat(MAX_BUCKET_NAME + 1)));
    }
}
