//! ISO 8601 (`2026-11-28T11:12:32Z`) for `aws:CurrentTime` and `aws:TokenIssueTime`.

use std::time::SystemTime;

/// The wall clock, for the actix middleware and the remote source's event subscription: a
/// downstream service's requests are verified at its own time. The verifier's entry points take
/// `now` instead.
// The crate's one read of the system clock (clippy.toml disallows `SystemTime::now` elsewhere).
#[cfg(any(feature = "actix", feature = "remote"))]
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock() -> SystemTime {
    SystemTime::now()
}

/// Whole seconds since the Unix epoch; before the epoch is 0 (the session crate's conversion).
pub(crate) fn epoch(t: SystemTime) -> u64 {
    idbroker_session::unix_seconds(t)
}

/// `YYYY-MM-DDThh:mm:ssZ` of seconds since the epoch (UTC): the `X-Amz-Date` form
/// (`20150830T123600Z`) with its separators put in.
pub(crate) fn iso8601(secs: u64) -> String {
    let b = idbroker_sigv4::format_amz_date(secs);
    let part = |r: std::ops::Range<usize>| b.get(r).unwrap_or("00");
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        part(0..4),
        part(4..6),
        part(6..8),
        part(9..11),
        part(11..13),
        part(13..15)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_440_938_160), "2015-08-30T12:36:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
