//! TOTP as RFC 6238 defines it, with the parameters of AWS's virtual MFA devices: HMAC-SHA-1,
//! 6 digits, 30-second steps counted from the Unix epoch. A code is checked against a window of
//! steps around the device's own (`now` plus the device's recorded drift): ±[`SKEW`] for a
//! sign-in, ±[`RESYNC_WINDOW`] for the two consecutive codes of EnableMFADevice and
//! ResyncMFADevice. Every step of a window is computed and compared in constant time
//! (`aws_lc_rs::constant_time`), so the time taken says nothing of which digits were right.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;

/// Seconds per step (RFC 6238's X).
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps either side of the device's current one that a sign-in code may come from (RFC 6238,
/// 5.2: "at most one time step is allowed as the network delay").
pub const SKEW: i64 = 1;
/// Steps either side of now searched for EnableMFADevice's and ResyncMFADevice's two
/// consecutive codes (10 minutes): a device whose clock is off by more is resynchronized, its
/// offset recorded and used from then on.
pub const RESYNC_WINDOW: i64 = 20;
/// How long a code's single-use mark is kept after its step began: longer than any step can
/// still be accepted (drift at most [`RESYNC_WINDOW`] steps, plus [`SKEW`]).
pub const MARK_SECONDS: u64 = 1800;

/// A code as given: exactly six ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Code([u8; 6]);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(******)")
    }
}

/// A code that is not six digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not six characters long.
    #[error("a code is six digits (length)")]
    Length,
    /// A character that is not an ASCII digit.
    #[error("a code is six digits (pattern)")]
    Pattern,
}

impl Code {
    /// Read a code: exactly six ASCII digits.
    pub fn parse(text: &str) -> Result<Code, CodeError> {
        let bytes: [u8; 6] = text.as_bytes().try_into().map_err(|_| CodeError::Length)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::Pattern);
        }
        Ok(Code(bytes))
    }
}

/// The step `now` is in (seconds since the epoch / 30).
pub fn step(now: SystemTime) -> i64 {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs / STEP_SECONDS).unwrap_or(i64::MAX)
}

/// HOTP (RFC 4226) of `counter` with `digits` digits: HMAC-SHA-1, dynamic truncation.
pub fn hotp(seed: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
        & 0x7fff_ffff;
    word % 10u32.pow(digits)
}

/// The six-digit code of step `step`, as a device shows it (zero-padded). Negative steps have
/// none.
pub fn code_at(seed: &[u8], step: i64) -> Option<[u8; 6]> {
    let counter = u64::try_from(step).ok()?;
    let text = format!("{:06}", hotp(seed, counter, DIGITS));
    text.as_bytes().try_into().ok()
}

fn same(a: &[u8; 6], b: &[u8; 6]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The step in `center - radius ..= center + radius` whose code is `code` (the earliest when
/// several are: a collision of codes); `None` when none is. Every step is computed and compared.
pub fn find(seed: &[u8], code: &Code, center: i64, radius: i64) -> Option<i64> {
    let mut found = None;
    for s in center.saturating_sub(radius)..=center.saturating_add(radius) {
        let hit = code_at(seed, s).is_some_and(|c| same(&c, &code.0));
        if hit && found.is_none() {
            found = Some(s);
        }
    }
    found
}

/// The step `s` in `center - radius ..= center + radius` such that `first` is the code of `s`
/// and `second` the code of `s + 1` (two consecutive codes, as EnableMFADevice takes them).
pub fn find_pair(
    seed: &[u8],
    first: &Code,
    second: &Code,
    center: i64,
    radius: i64,
) -> Option<i64> {
    let lo = center.saturating_sub(radius);
    let hi = center.saturating_add(radius);
    let codes: Vec<Option<[u8; 6]>> = (lo..=hi.saturating_add(1))
        .map(|s| code_at(seed, s))
        .collect();
    let mut found = None;
    for (i, pair) in codes.windows(2).enumerate() {
        let hit = match pair {
            [Some(a), Some(b)] => same(a, &first.0) & same(b, &second.0),
            _ => false,
        };
        if hit && found.is_none() {
            found = i64::try_from(i).ok().map(|i| lo + i);
        }
    }
    found
}

/// The drift to record for a device whose two consecutive codes were steps `first` and
/// `first + 1` when the server's step was `now_step`: the offset of the later code, or 0 when it
/// is within [`SKEW`] (the device is in time; a code given just before a step ended is not a
/// drift).
pub fn drift(first: i64, now_step: i64) -> i64 {
    let offset = first.saturating_add(1).saturating_sub(now_step);
    if offset.abs() <= SKEW {
        0
    } else {
        offset.clamp(-RESYNC_WINDOW, RESYNC_WINDOW)
    }
}

/// The single-use mark of a device's step (namespace `mfa` of the session store): the
/// device's serial number and the step.
pub fn mark(serial: &str, step: i64) -> String {
    format!("{serial}#{step}")
}

/// Until when (seconds since the epoch) the mark of `step` is kept.
pub fn mark_until(step: i64) -> u64 {
    u64::try_from(step)
        .unwrap_or(0)
        .saturating_mul(STEP_SECONDS)
        .saturating_add(MARK_SECONDS)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        for (secs, want) in [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let counter = u64::try_from(step(at(secs))).unwrap();
            assert_eq!(hotp(RFC_SEED, counter, 8), want, "T = {secs}");
            // Six digits: the last six of the eight.
            assert_eq!(hotp(RFC_SEED, counter, 6), want % 1_000_000, "T = {secs}");
        }
    }

    #[test]
    fn rfc_4226_appendix_d_hotp_vectors() {
        let want = [
            755_224u32, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, w) in want.iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, counter as u64, 6), *w, "count {counter}");
        }
    }

    #[test]
    fn codes_are_zero_padded_six_digits() {
        // RFC 6238's T = 1111111109 is 07081804: six digits 081804.
        let s = step(at(1_111_111_109));
        assert_eq!(&code_at(RFC_SEED, s).unwrap(), b"081804");
        assert_eq!(code_at(RFC_SEED, -1), None);
    }

    #[test]
    fn parse_codes() {
        assert!(Code::parse("081804").is_ok());
        assert_eq!(Code::parse("81804"), Err(CodeError::Length));
        assert_eq!(Code::parse("0818041"), Err(CodeError::Length));
        assert_eq!(Code::parse("08180a"), Err(CodeError::Pattern));
        assert_eq!(Code::parse("０８１８０４"), Err(CodeError::Length));
        assert_eq!(Code::parse(" 81804"), Err(CodeError::Pattern));
        assert_eq!(
            format!("{:?}", Code::parse("081804").unwrap()),
            "Code(******)"
        );
    }

    #[test]
    fn a_window_of_one_step_either_side() {
        let now = step(at(1_111_111_109));
        let code = |s: i64| Code(code_at(RFC_SEED, s).unwrap());
        for d in -1..=1 {
            assert_eq!(find(RFC_SEED, &code(now + d), now, SKEW), Some(now + d));
        }
        for d in [-3, -2, 2, 3] {
            assert_eq!(find(RFC_SEED, &code(now + d), now, SKEW), None, "{d}");
        }
        assert_eq!(
            find(RFC_SEED, &Code::parse("000000").unwrap(), now, SKEW).filter(|s| code_at(
                RFC_SEED, *s
            ) != Some(
                *b"000000"
            )),
            None
        );
    }

    #[test]
    fn pairs_of_consecutive_codes() {
        let now = step(at(1_111_111_109));
        let code = |s: i64| Code(code_at(RFC_SEED, s).unwrap());
        assert_eq!(
            find_pair(RFC_SEED, &code(now), &code(now + 1), now, RESYNC_WINDOW),
            Some(now)
        );
        assert_eq!(
            find_pair(
                RFC_SEED,
                &code(now - 12),
                &code(now - 11),
                now,
                RESYNC_WINDOW
            ),
            Some(now - 12)
        );
        // Not consecutive, reversed, the same code twice, or out of the window.
        assert_eq!(
            find_pair(RFC_SEED, &code(now), &code(now + 2), now, RESYNC_WINDOW),
            None
        );
        assert_eq!(
            find_pair(RFC_SEED, &code(now + 1), &code(now), now, RESYNC_WINDOW),
            None
        );
        assert_eq!(
            find_pair(RFC_SEED, &code(now), &code(now), now, RESYNC_WINDOW),
            None
        );
        assert_eq!(
            find_pair(
                RFC_SEED,
                &code(now + 30),
                &code(now + 31),
                now,
                RESYNC_WINDOW
            ),
            None
        );
    }

    #[test]
    fn drift_is_recorded_beyond_the_skew_only() {
        assert_eq!(drift(100, 101), 0);
        assert_eq!(drift(100, 100), 0);
        assert_eq!(drift(99, 101), 0);
        assert_eq!(drift(101, 101), 0);
        assert_eq!(drift(105, 101), 5);
        assert_eq!(drift(90, 101), -10);
        assert_eq!(drift(0, 1000), -RESYNC_WINDOW);
    }

    #[test]
    fn marks() {
        assert_eq!(mark("arn:aws:iam::1:mfa/a", 7), "arn:aws:iam::1:mfa/a#7");
        assert_eq!(mark_until(2), 60 + MARK_SECONDS);
        assert_eq!(mark_until(-1), MARK_SECONDS);
    }
}
