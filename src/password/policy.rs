//! The account password policy (IAM's UpdateAccountPasswordPolicy): what a new password must
//! be, when a password expires, how many earlier ones may not come back. Without a policy, AWS's
//! default applies to new passwords: at least 8 characters, three of the four classes
//! (upper case, lower case, digits, symbols), and not the user's name.

use serde::{Deserialize, Serialize};

use super::MAX_PASSWORD_BYTES;

/// The symbols IAM counts as such.
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// IAM's bounds: `MinimumPasswordLength` 6..=128, `MaxPasswordAge` 1..=1095 days,
/// `PasswordReusePrevention` 1..=24.
pub const LENGTH_RANGE: (u32, u32) = (6, 128);
/// `MaxPasswordAge`, days.
pub const MAX_AGE_RANGE: (u32, u32) = (1, 1095);
/// `PasswordReusePrevention`, passwords.
pub const REUSE_RANGE: (u32, u32) = (1, 24);

/// `[password_policy]` of an account (the directory's; IAM's fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength` (IAM's default when the call omits it: 6).
    #[serde(default = "default_length")]
    pub minimum_password_length: u32,
    /// `RequireSymbols`
    #[serde(default)]
    pub require_symbols: bool,
    /// `RequireNumbers`
    #[serde(default)]
    pub require_numbers: bool,
    /// `RequireUppercaseCharacters`
    #[serde(default)]
    pub require_uppercase_characters: bool,
    /// `RequireLowercaseCharacters`
    #[serde(default)]
    pub require_lowercase_characters: bool,
    /// `AllowUsersToChangePassword`: every IAM user may change their own password (without an
    /// `iam:ChangePassword` permission).
    #[serde(default)]
    pub allow_users_to_change_password: bool,
    /// `MaxPasswordAge`, days; none: passwords do not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_password_age: Option<u32>,
    /// `PasswordReusePrevention`: how many earlier passwords may not be used again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reuse_prevention: Option<u32>,
    /// `HardExpiry`: an expired password cannot be changed at sign-in; an administrator must
    /// reset it.
    #[serde(default)]
    pub hard_expiry: bool,
}

fn default_length() -> u32 {
    6
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: default_length(),
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: false,
        }
    }
}

impl PasswordPolicy {
    /// Are its numbers within IAM's bounds? (The message names the member, as IAM does.)
    pub fn validate(&self) -> Result<(), String> {
        let within = |v: u32, (lo, hi): (u32, u32), name: &str| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: Member must have value between {lo} and {hi}"
                ))
            }
        };
        within(
            self.minimum_password_length,
            LENGTH_RANGE,
            "minimumPasswordLength",
        )?;
        if let Some(d) = self.max_password_age {
            within(d, MAX_AGE_RANGE, "maxPasswordAge")?;
        }
        if let Some(n) = self.password_reuse_prevention {
            within(n, REUSE_RANGE, "passwordReusePrevention")?;
        }
        Ok(())
    }

    /// Is a password set at `changed` (epoch seconds) expired at `now`?
    pub fn expired(&self, changed: u64, now: u64) -> bool {
        self.max_password_age
            .is_some_and(|days| now >= changed.saturating_add(u64::from(days) * 86_400))
    }

    /// How many earlier passwords a new one must differ from.
    pub fn remembered(&self) -> usize {
        self.password_reuse_prevention
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }
}

/// What `policy` (AWS's default when `None`) asks of a new password, in words.
pub fn describe(policy: Option<&PasswordPolicy>) -> String {
    match policy {
        None => "at least 8 characters, with three of: upper-case letters, lower-case letters, numbers, symbols; not your user name".into(),
        Some(p) => {
            let mut parts = vec![format!("at least {} characters", p.minimum_password_length)];
            for (on, what) in [
                (p.require_uppercase_characters, "an upper-case letter"),
                (p.require_lowercase_characters, "a lower-case letter"),
                (p.require_numbers, "a number"),
                (p.require_symbols, "a symbol"),
            ] {
                if on {
                    parts.push(what.into());
                }
            }
            if let Some(n) = p.password_reuse_prevention {
                parts.push(format!("none of your last {n} passwords"));
            }
            parts.join(", ")
        }
    }
}

/// Does `password`, for the user `user`, satisfy `policy` (AWS's default when `None`)? The error
/// says what is missing (IAM's `PasswordPolicyViolation`).
pub fn check(policy: Option<&PasswordPolicy>, user: &str, password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "Password must be at most {MAX_PASSWORD_BYTES} characters long."
        ));
    }
    if !password.chars().all(|c| (' '..='~').contains(&c)) {
        return Err("Password may contain only printable ASCII characters.".into());
    }
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let len = password.chars().count();
    match policy {
        Some(p) => {
            let min = usize::try_from(p.minimum_password_length).unwrap_or(usize::MAX);
            if len < min {
                return Err(format!("Password should have at least {min} characters."));
            }
            let missing = [
                (
                    p.require_uppercase_characters && !upper,
                    "one uppercase letter",
                ),
                (
                    p.require_lowercase_characters && !lower,
                    "one lowercase letter",
                ),
                (p.require_numbers && !digit, "one number"),
                (p.require_symbols && !symbol, "one symbol"),
            ];
            if let Some((_, what)) = missing.iter().find(|(m, _)| *m) {
                return Err(format!("Password should have at least {what}."));
            }
        }
        None => {
            if len < 8 {
                return Err("Password should have at least 8 characters.".into());
            }
            let classes = [upper, lower, digit, symbol].iter().filter(|c| **c).count();
            if classes < 3 {
                return Err("Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols.".into());
            }
            if password.eq_ignore_ascii_case(user) {
                return Err("Password must not be the user name.".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_default_wants_eight_characters_of_three_classes() {
        assert!(check(None, "alice", "Abcdefg1").is_ok());
        assert!(check(None, "alice", "abcdefg!1").is_ok());
        assert!(check(None, "alice", "Abc1!").is_err());
        assert!(check(None, "alice", "abcdefgh1").is_err());
        assert!(check(None, "Alice-Adm1n", "alice-adm1N").is_err());
    }

    #[test]
    fn a_policy_says_what_is_missing() {
        let p = PasswordPolicy {
            minimum_password_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            ..PasswordPolicy::default()
        };
        assert_eq!(
            check(Some(&p), "u", "Short1!"),
            Err("Password should have at least 12 characters.".into())
        );
        assert_eq!(
            check(Some(&p), "u", "longenough1!x"),
            Err("Password should have at least one uppercase letter.".into())
        );
        assert_eq!(
            check(Some(&p), "u", "LONGENOUGH1!X"),
            Err("Password should have at least one lowercase letter.".into())
        );
        assert_eq!(
            check(Some(&p), "u", "LongEnoughX!x"),
            Err("Password should have at least one number.".into())
        );
        assert_eq!(
            check(Some(&p), "u", "LongEnough1xx"),
            Err("Password should have at least one symbol.".into())
        );
        assert!(check(Some(&p), "u", "LongEnough1x'").is_ok());
        // A policy of six characters and nothing else is weaker than the default, as on AWS.
        assert!(check(Some(&PasswordPolicy::default()), "u", "aaaaaa").is_ok());
    }

    #[test]
    fn only_printable_ascii_and_at_most_128() {
        assert!(check(None, "u", "Abcdefg1\u{e9}").is_err());
        assert!(check(None, "u", "Abcdefg1\n").is_err());
        assert!(check(None, "u", "Abcdefg1 ").is_ok());
        let long = format!("Ab1{}", "x".repeat(126));
        assert!(check(None, "u", &long).is_err());
    }

    #[test]
    fn bounds_and_expiry() {
        let mut p = PasswordPolicy::default();
        assert!(p.validate().is_ok());
        p.minimum_password_length = 5;
        assert!(p.validate().unwrap_err().contains("minimumPasswordLength"));
        p.minimum_password_length = 129;
        assert!(p.validate().is_err());
        p.minimum_password_length = 8;
        p.max_password_age = Some(0);
        assert!(p.validate().unwrap_err().contains("maxPasswordAge"));
        p.max_password_age = Some(1);
        p.password_reuse_prevention = Some(25);
        assert!(p
            .validate()
            .unwrap_err()
            .contains("passwordReusePrevention"));
        p.password_reuse_prevention = Some(24);
        assert!(p.validate().is_ok());
        assert!(!p.expired(1_000, 1_000 + 86_399));
        assert!(p.expired(1_000, 1_000 + 86_400));
        assert!(!PasswordPolicy::default().expired(0, u64::MAX));
        assert_eq!(p.remembered(), 24);
    }
}
