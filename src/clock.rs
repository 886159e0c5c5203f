//! The one clock. Logic takes `now` as an argument; only handlers read the clock, through
//! `AppState`, so tests move time instead of sleeping. The command reads [`SystemClock`] and
//! passes the time on (to `Config::load`, the `dev` and `admin` commands).
//!
//! This module is the only place in `src/` that reads the system's clocks: `clippy.toml`
//! disallows `SystemTime::now` and `Instant::now` everywhere else. The wall clock is
//! [`SystemClock`]; the monotonic one, for timing and waiting only, is [`Stopwatch`].

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one read of the wall clock (clippy.toml disallows it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Time elapsed on the monotonic clock, for latency metrics, timeouts and waiting: never for
/// validity (expiry, signatures, replay windows), which is decided by the time from a
/// [`Clock`]. It is not moved by [`ManualClock`], and it does not jump when the wall clock is
/// set. A handler times itself with `let started = Stopwatch::start();` and reports
/// `started.elapsed()`.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Start timing now.
    // The one read of the monotonic clock (clippy.toml disallows `Instant::now` elsewhere).
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    /// Time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    /// The instant it was started, for APIs that take one (deadlines, `tokio::time`).
    pub fn started_at(&self) -> Instant {
        self.0
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock standing at `t`.
    pub fn new(t: SystemTime) -> Self {
        ManualClock(Mutex::new(t))
    }

    /// Move forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }

    /// Jump to `t`.
    pub fn set(&self, t: SystemTime) {
        if let Ok(mut now) = self.0.lock() {
            *now = t;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.0.lock().map(|t| *t).unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// Seconds since the Unix epoch (0 for a time before it): the one conversion the store, the
/// sealed cookies and the token checks use ([`idbroker_session::unix_seconds`], which the
/// store and `idbroker-verify` use too).
pub fn epoch(t: SystemTime) -> u64 {
    idbroker_session::unix_seconds(t)
}

/// `2026-11-28T12:00:00Z`, as STS writes times.
pub fn iso8601(t: SystemTime) -> String {
    let mut out = String::with_capacity(20);
    write_utc(&mut out, t, false);
    out
}

/// Append `t` as RFC 3339 UTC: `2026-11-28T12:00:00Z`, or with `micros`
/// `2026-11-28T12:00:00.123456Z` (as log lines have it). Times before 1970 are written as the
/// epoch; after 9999 as 9999-12-31T23:59:59Z.
pub fn write_utc(out: &mut String, t: SystemTime, micros: bool) {
    // Writing to a String cannot fail.
    let _ = write_utc_to(out, t, micros);
}

/// [`write_utc`] into any writer (a formatter: see [`Utc`]).
fn write_utc_to(out: &mut impl std::fmt::Write, t: SystemTime, micros: bool) -> std::fmt::Result {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let dt = i64::try_from(since.as_secs())
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .filter(|d| d.year() <= 9999)
        .unwrap_or(time::macros::datetime!(9999-12-31 23:59:59 UTC));
    let digits = |out: &mut dyn std::fmt::Write, v: u32, width: u32| -> std::fmt::Result {
        for p in (0..width).rev() {
            let d = (v / 10u32.pow(p)) % 10;
            out.write_char(char::from(b'0' + u8::try_from(d).unwrap_or(0)))?;
        }
        Ok(())
    };
    digits(out, u32::try_from(dt.year()).unwrap_or(0), 4)?;
    out.write_char('-')?;
    digits(out, u32::from(u8::from(dt.month())), 2)?;
    out.write_char('-')?;
    digits(out, u32::from(dt.day()), 2)?;
    out.write_char('T')?;
    digits(out, u32::from(dt.hour()), 2)?;
    out.write_char(':')?;
    digits(out, u32::from(dt.minute()), 2)?;
    out.write_char(':')?;
    digits(out, u32::from(dt.second()), 2)?;
    if micros {
        out.write_char('.')?;
        digits(out, since.subsec_micros(), 6)?;
    }
    out.write_char('Z')
}

/// `t` displayed as [`iso8601`] writes it, without allocating (`format_args!`, serde's
/// `collect_str`).
#[derive(Debug, Clone, Copy)]
pub struct Utc(pub SystemTime);

impl std::fmt::Display for Utc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_utc_to(f, self.0, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_sts() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200);
        assert_eq!(iso8601(t), "2026-11-28T12:00:00Z");
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let mut s = String::new();
        write_utc(&mut s, t + Duration::from_micros(1_234), true);
        assert_eq!(s, "2026-11-28T12:00:00.001234Z");
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(iso8601(far), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn stopwatch_moves_forward() {
        let w = Stopwatch::start();
        let a = w.elapsed();
        std::thread::sleep(Duration::from_millis(2));
        assert!(w.elapsed() >= a + Duration::from_millis(2));
        assert!(w.started_at() <= w.started_at() + w.elapsed());
    }
}
