//! Times: now in seconds since the epoch ([`unix_now`], signed), and the `xs:dateTime`
//! attributes of a response read as such.

use std::time::SystemTime;

use super::error::SamlError;

/// Seconds since the epoch.
pub fn unix_now(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// An `xs:dateTime` in UTC (`2026-11-28T12:00:00Z`, fractions allowed).
pub(super) fn parse_time(s: &str) -> Result<i64, SamlError> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| SamlError::Malformed("a time is not an xs:dateTime in UTC"))
}

pub(super) fn opt_time(n: &roxmltree::Node<'_, '_>, attr: &str) -> Result<Option<i64>, SamlError> {
    n.attribute(attr).map(parse_time).transpose()
}
