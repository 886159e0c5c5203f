//! Dates as IAM reads them in `Date*` conditions and `aws:CurrentTime` / `aws:EpochTime`.
//!
//! Two forms: an ISO 8601 date or date-time (`2019-07-01`, `2019-07-01T13:20:15Z`,
//! `2016-12-13T21:20:37.593194+00:00`, AWS also accepts partial forms such as `2016` and odd ones
//! such as `01T`), or a number of seconds since the epoch (`1563278400`). The same grammar decides
//! IAM's "legacy parsing" check when a policy is validated, and converts values when it is
//! evaluated, so a value that validates always compares.

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(i128);

/// Parse a date value; `None` when IAM would not accept it.
pub(crate) fn parse(text: &str) -> Option<Instant> {
    let lower = text.to_ascii_lowercase();
    if lower.contains('t') || lower.contains('-') {
        parse_iso(&lower)
    } else {
        let secs: i64 = parse_uint(&lower)?.try_into().ok()?;
        Some(Instant(i128::from(secs) * NANOS))
    }
}

const NANOS: i128 = 1_000_000_000;
const MIN_YEAR: i64 = -292_275_054;
const MAX_YEAR: i64 = 292_278_993;

fn parse_iso(text: &str) -> Option<Instant> {
    let (date, time) = match text.split_once('t') {
        Some((d, t)) => (d, t),
        None => (text, ""),
    };
    let (negative, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let mut parts = date.split('-');
    let year = i64::try_from(parse_uint(parts.next()?)?).ok()?;
    let year = if negative { -year } else { year };
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return None;
    }
    let month = match parts.next() {
        Some(m) => in_range(parse_uint(m)?, 1, 12)?,
        None => 1,
    };
    let day = match parts.next() {
        Some(d) => in_range(parse_uint(d)?, 1, 31)?,
        None => 1,
    };
    if parts.next().is_some() {
        return None;
    }
    let seconds_of_day = parse_time(time)?;
    let days = days_from_civil(year, month, day);
    Some(Instant(i128::from(days) * 86_400 * NANOS + seconds_of_day))
}

/// `hh[:mm[:ss[.fraction]]][z|+hh[:mm]|-hh[:mm]]` -> nanoseconds from midnight UTC (may be
/// negative or exceed a day once the offset is applied).
fn parse_time(time: &str) -> Option<i128> {
    if time.is_empty() {
        return Some(0);
    }
    // Split off the zone designator.
    let (clock, offset) = if let Some(clock) = time.strip_suffix('z') {
        (clock, 0i128)
    } else if let Some(pos) = time.find(['+', '-']) {
        let (clock, zone) = time.split_at(pos);
        let sign: i128 = if zone.starts_with('-') { -1 } else { 1 };
        let zone = zone.get(1..)?;
        let (hh, mm) = match zone.split_once(':') {
            Some((h, m)) => (h, Some(m)),
            None => (zone, None),
        };
        if hh.len() != 2 {
            return None;
        }
        let hours = in_range(parse_uint(hh)?, 0, 23)?;
        let minutes = match mm {
            Some(m) if m.len() == 2 => in_range(parse_uint(m)?, 0, 59)?,
            Some(_) => return None,
            None => 0,
        };
        (
            clock,
            sign * (i128::from(hours) * 3600 + i128::from(minutes) * 60),
        )
    } else {
        (time, 0)
    };
    let mut fields = clock.split(':');
    let hours = match fields.next() {
        Some("") | None => 0,
        Some(h) => in_range(parse_uint(h)?, 0, 23)?,
    };
    let minutes = match fields.next() {
        Some(m) => in_range(parse_uint(m)?, 0, 59)?,
        None => 0,
    };
    let (seconds, nanos) = match fields.next() {
        Some(s) => {
            let (whole, frac) = match s.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (s, None),
            };
            let whole = in_range(parse_uint(whole)?, 0, 59)?;
            let nanos = match frac {
                Some(f) => {
                    let value = parse_uint(f)?;
                    if value > 999_999_999 {
                        return None;
                    }
                    // Scale to nanoseconds by the number of digits written.
                    let digits = u32::try_from(f.len()).ok()?;
                    if digits > 9 {
                        i128::from(value)
                    } else {
                        i128::from(value) * 10i128.pow(9 - digits)
                    }
                }
                None => 0,
            };
            (whole, nanos)
        }
        None => (0, 0),
    };
    if fields.next().is_some() {
        return None;
    }
    let secs = i128::from(hours) * 3600 + i128::from(minutes) * 60 + i128::from(seconds) - offset;
    Some(secs * NANOS + nanos)
}

/// Decimal digits only, at least one, no sign.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn in_range(v: u64, lo: u64, hi: u64) -> Option<i64> {
    if (lo..=hi).contains(&v) {
        i64::try_from(v).ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). Days past
/// the end of a month roll into the next one, as IAM's lenient parser allows.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<i128> {
        parse(s).map(|i| i.0 / NANOS)
    }

    #[test]
    fn forms() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2019-07-16T12:00:00Z"), Some(1_563_278_400));
        assert_eq!(secs("1563278400"), Some(1_563_278_400));
        assert_eq!(secs("2019-07-16"), Some(1_563_235_200));
        assert_eq!(secs("2019-07-16T14:00:00+02:00"), Some(1_563_278_400));
        assert_eq!(secs("2019-07-16T07:00:00-05:00"), Some(1_563_278_400));
        assert_eq!(secs("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert!(parse("2016-12-13t2:00:00.593194+23").is_some());
        assert!(parse("01T").is_some());
        assert!(parse("-292275054").is_some());
        assert!(parse("2016-12-13T21:20:37.593194+00:00").is_some());
    }

    #[test]
    fn rejects() {
        for bad in [
            "sdfdsf",
            "234-13",
            "2016-12-13t2:00:00.593194+1",
            "2016-12-13t2:00:00.1999999999+10:59",
            "9223372036854775808",
            "2019-07-16T24:00:00Z",
            "2019-00-16",
            "",
            "-",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ordering_uses_fractions() {
        assert!(parse("2020-01-01T00:00:00.5Z") > parse("2020-01-01T00:00:00.25Z"));
    }
}
