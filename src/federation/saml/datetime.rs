//! Times: now in seconds since the epoch ([`unix_now`], signed), and the `xs:dateTime`
//! attributes of a response read as such.

use std::time::SystemTime;

use super::error::SamlError;

/// [`crate::clock::epoch`] as signed seconds, the type of the assertion's times.
pub fn unix_now(t: SystemTime) -> i64 {
    i64::try_from(crate::clock::epoch(t)).unwrap_or(i64::MAX)
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
