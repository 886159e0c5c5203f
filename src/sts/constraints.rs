//! STS request values as AWS constrains them, whatever carried them (Query parameters, SAML
//! attributes, token claims). Each check answers with the message AWS gives, so that clients and
//! people see the same text as from AWS. Reading the values out of a request is the codec's job
//! (`src/http/query.rs`).

use super::tag::Tag;
use crate::mfa::totp::{Code, CodeError};
use crate::sts::{MfaCode, StsError};

/// `DurationSeconds` (its text as sent) within `min..=max`; `None` when absent.
pub fn check_duration(text: Option<&str>, min: u32, max: u32) -> Result<Option<u32>, StsError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value: i64 = text.parse().map_err(|_| {
        StsError::Validation(format!(
            "Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
        ))
    })?;
    if value < i64::from(min) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    if value > i64::from(max) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    u32::try_from(value)
        .map(Some)
        .map_err(|_| StsError::Validation("durationSeconds".into()))
}

/// `RoleArn` / `PrincipalArn`: 20..2048 characters (`field` is AWS's member name).
pub fn check_arn_length(field: &str, value: &str) -> Result<(), StsError> {
    if (20..=2048).contains(&value.len()) {
        return Ok(());
    }
    Err(StsError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to 20"
    )))
}

/// `[\w+=,.@-]{2,64}`: RoleSessionName, SourceIdentity.
pub fn check_session_name(field: &str, value: &str) -> Result<(), StsError> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !(2..=64).contains(&value.len()) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length {}",
            if value.len() < 2 { "greater than or equal to 2" } else { "less than or equal to 64" }
        )));
    }
    if !ok_chars {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

/// `SerialNumber` (9..256 of `[\w+=/:,.@-]`) and `TokenCode` (six digits), which go together:
/// one without the other is a `ValidationError`. `None` when neither is given. A code's value is
/// never repeated in a message.
pub fn check_mfa<'a>(
    serial: Option<&'a str>,
    code: Option<&str>,
) -> Result<Option<MfaCode<'a>>, StsError> {
    if let Some(s) = serial {
        if !(9..=256).contains(&s.len()) {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value '{s}' at 'serialNumber' failed to satisfy constraint: Member must have length {}",
                if s.len() < 9 { "greater than or equal to 9" } else { "less than or equal to 256" }
            )));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c))
        {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value '{s}' at 'serialNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=/:,.@-]*"
            )));
        }
    }
    let code = code
        .map(|c| {
            Code::parse(c).map_err(|e| {
                StsError::Validation(format!(
                    "1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: {}",
                    match (e, c.len() < 6) {
                        (CodeError::Length, true) => "Member must have length greater than or equal to 6",
                        (CodeError::Length, false) => "Member must have length less than or equal to 6",
                        (CodeError::Pattern, _) => "Member must satisfy regular expression pattern: [\\d]*",
                    }
                ))
            })
        })
        .transpose()?;
    match (serial, code) {
        (None, None) => Ok(None),
        (Some(serial), Some(code)) => Ok(Some(MfaCode { serial, code })),
        (Some(_), None) => Err(StsError::Validation(
            "A TokenCode is required with a SerialNumber: MFA takes the device's serial number and its current code.".into(),
        )),
        (None, Some(_)) => Err(StsError::Validation(
            "A SerialNumber is required with a TokenCode: MFA takes the device's serial number and its current code.".into(),
        )),
    }
}

/// Text that starts with `aws:` in any case: the prefix AWS reserves for itself in session tag
/// keys ("Rules for tagging in IAM and AWS STS") and source identities ("You cannot use a value
/// that begins with the text aws:"). Every way in checks tag keys with this: AssumeRole's
/// parameters and SAML's attributes (through [`check_tags`]) and web identity token claims.
pub fn has_reserved_prefix(s: &str) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Characters AWS allows in a session tag key or value.
pub fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// Session tags `(index, key, value)` from any source (request parameters, SAML attributes,
/// token claims), checked with AWS's limits: at most 50, keys unique case-insensitively and not
/// starting with the reserved `aws:`.
pub fn check_tags<'a>(
    pairs: impl IntoIterator<Item = (usize, &'a str, &'a str)>,
) -> Result<Vec<Tag>, StsError> {
    let mut out: Vec<Tag> = Vec::new();
    for (i, key, value) in pairs {
        if out.len() == 50 {
            return Err(StsError::Validation(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50".into(),
            ));
        }
        if key.is_empty() || key.chars().count() > 128 || !tag_chars_ok(key) {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value '{key}' at 'tags.{i}.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]+"
            )));
        }
        if value.chars().count() > 256 || !tag_chars_ok(value) {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value at 'tags.{i}.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*"
            )));
        }
        if has_reserved_prefix(key) {
            return Err(StsError::InvalidParameterValue(format!(
                "The tag key {key} is reserved: session tag keys cannot begin with aws:"
            )));
        }
        if out.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
            return Err(StsError::InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
        out.push(Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(out)
}

/// An inline session policy: 1..2048 characters of `\t \n \r` and `\u0020-\u00FF`.
pub fn check_session_policy(p: &str) -> Result<&str, StsError> {
    let chars = p.chars().count();
    if chars == 0 || chars > 2048 {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length {}",
            if chars == 0 { "greater than or equal to 1" } else { "less than or equal to 2048" }
        )));
    }
    let ok = p
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'));
    if !ok {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+".into(),
        ));
    }
    Ok(p)
}

/// `PolicyArns.member.N.arn`: at most 10.
pub fn check_policy_arns(arns: Vec<&str>) -> Result<Vec<&str>, StsError> {
    if arns.len() > 10 {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10".into(),
        ));
    }
    Ok(arns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert!(check_duration(Some("899"), 900, 43200).is_err());
        assert_eq!(check_duration(None, 900, 43200).ok(), Some(None));
        assert_eq!(
            check_duration(Some("900"), 900, 43200).ok(),
            Some(Some(900))
        );
        assert!(check_duration(Some("x"), 900, 43200).is_err());
        assert!(check_duration(Some("43201"), 900, 43200).is_err());
        assert!(check_session_name("roleSessionName", "a").is_err());
        assert!(check_session_name("roleSessionName", "alice@example.com").is_ok());
        assert!(check_session_name("roleSessionName", "bad name").is_err());
        let dup = check_tags([(1, "A", ""), (2, "a", "")]);
        assert!(matches!(dup, Err(StsError::InvalidParameterValue(_))));
        let reserved = check_tags([(1, "AWS:team", "")]);
        assert!(matches!(reserved, Err(StsError::InvalidParameterValue(_))));
        assert!(has_reserved_prefix("aws:x") && has_reserved_prefix("Aws:"));
        assert!(!has_reserved_prefix("aws") && !has_reserved_prefix("team:aws:"));
        assert!(check_session_policy(&"x".repeat(2049)).is_err());
        assert!(check_session_policy("").is_err());
        assert!(check_policy_arns(vec!["a"; 11]).is_err());
        assert!(check_arn_length("roleArn", "short").is_err());
    }

    #[test]
    fn mfa_parameters_go_together() {
        let serial = "arn:aws:iam::123456789012:mfa/alice";
        assert!(check_mfa(None, None).unwrap().is_none());
        assert_eq!(
            check_mfa(Some(serial), Some("123456"))
                .unwrap()
                .unwrap()
                .serial,
            serial
        );
        let message = |r: Result<Option<MfaCode<'_>>, StsError>| match r {
            Err(StsError::Validation(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(message(check_mfa(Some(serial), None)).contains("TokenCode is required"));
        assert!(message(check_mfa(None, Some("123456"))).contains("SerialNumber is required"));
        let short = message(check_mfa(Some(serial), Some("12345")));
        assert!(short.contains("'tokenCode'") && short.contains("greater than or equal to 6"));
        assert!(!short.contains("12345"), "{short}");
        assert!(
            message(check_mfa(Some(serial), Some("1234567"))).contains("less than or equal to 6")
        );
        assert!(message(check_mfa(Some(serial), Some("12345a"))).contains("pattern"));
        assert!(message(check_mfa(Some("GAHT1234"), Some("123456"))).contains("'serialNumber'"));
        assert!(
            message(check_mfa(Some("arn:aws:iam::1:mfa/a b"), Some("123456"))).contains("pattern")
        );
        // A hardware token's serial number is well-formed (and names no device here).
        assert!(check_mfa(Some("GAHT12345678"), Some("123456")).is_ok());
    }
}
