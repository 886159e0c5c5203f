//! STS request parameters as AWS constrains them. Each check answers with the message AWS
//! gives, so that clients and people see the same text as from AWS.

use crate::sts::StsError;

/// The parameters of one Query-protocol request (form body or query string), names as sent.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Sorted by name, one entry per name (a flat vector: one allocation instead of a tree
    /// node per parameter on every request).
    values: Vec<(String, String)>,
}

impl Params {
    /// From decoded name/value pairs; a repeated name keeps its first value.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut values: Vec<(String, String)> = pairs.into_iter().collect();
        // Stable: among equal names the first sent stays first, and dedup keeps it.
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values.dedup_by(|later, first| later.0 == first.0);
        Params { values }
    }

    /// A parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.values.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, StsError> {
        self.get(name)
            .ok_or_else(|| StsError::MissingParameter(name.to_owned()))
    }

    /// `Name.member.1`, `Name.member.2`, ... (or `Name.member.N.field`), in index order.
    pub fn members(&self, name: &str, field: Option<&str>) -> Vec<(usize, &str)> {
        let prefix = format!("{name}.member.");
        let mut out: Vec<(usize, &str)> = self
            .values
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&prefix)?;
                let (index, tail) = match rest.split_once('.') {
                    Some((i, t)) => (i, Some(t)),
                    None => (rest, None),
                };
                if tail != field {
                    return None;
                }
                Some((index.parse::<usize>().ok()?, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(i, _)| *i);
        out
    }

    /// `DurationSeconds` within `min..=max`, or `default` when absent.
    pub fn duration(&self, min: u32, max: u32, default: u32) -> Result<u32, StsError> {
        let Some(text) = self.get("DurationSeconds") else {
            return Ok(default);
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
        u32::try_from(value).map_err(|_| StsError::Validation("durationSeconds".into()))
    }
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

/// A session tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Key (1..128 chars).
    pub key: String,
    /// Value (0..256 chars).
    pub value: String,
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

/// `Tags.member.N.Key` / `.Value`: at most 50, keys unique case-insensitively.
pub fn tags(params: &Params) -> Result<Vec<Tag>, StsError> {
    let keys = params.members("Tags", Some("Key"));
    let values = params.members("Tags", Some("Value"));
    check_tags(keys.into_iter().map(|(i, key)| {
        let value = values
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, v)| *v)
            .unwrap_or("");
        (i, key, value)
    }))
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
pub fn session_policy_text(params: &Params) -> Result<Option<&str>, StsError> {
    let Some(p) = params.get("Policy") else {
        return Ok(None);
    };
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
    Ok(Some(p))
}

/// `PolicyArns.member.N.arn`: at most 10.
pub fn policy_arns(params: &Params) -> Result<Vec<&str>, StsError> {
    let arns: Vec<&str> = params
        .members("PolicyArns", Some("arn"))
        .into_iter()
        .map(|(_, v)| v)
        .collect();
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

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn a_repeated_name_keeps_its_first_value_and_lookups_are_exact() {
        let p = params(&[
            ("RoleArn", "first"),
            ("Action", "AssumeRole"),
            ("RoleArn", "second"),
            ("Role", "x"),
            ("RoleArn", "third"),
        ]);
        assert_eq!(p.get("RoleArn"), Some("first"));
        assert_eq!(p.get("Role"), Some("x"));
        assert_eq!(p.get("Action"), Some("AssumeRole"));
        assert_eq!(p.get("RoleAr"), None);
        assert_eq!(p.get(""), None);
        assert_eq!(params(&[]).get("Action"), None);
    }

    #[test]
    fn members_in_index_order() {
        let p = params(&[
            ("Tags.member.2.Key", "b"),
            ("Tags.member.10.Key", "c"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.1.Value", "x"),
        ]);
        let keys: Vec<&str> = p
            .members("Tags", Some("Key"))
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let t = tags(&p).expect("tags");
        assert_eq!(
            t[0],
            Tag {
                key: "a".into(),
                value: "x".into()
            }
        );
        assert_eq!(t[1].value, "");
    }

    #[test]
    fn limits() {
        assert!(params(&[("DurationSeconds", "899")])
            .duration(900, 43200, 3600)
            .is_err());
        assert_eq!(params(&[]).duration(900, 43200, 3600).ok(), Some(3600));
        assert!(params(&[("DurationSeconds", "x")])
            .duration(900, 43200, 3600)
            .is_err());
        assert!(check_session_name("roleSessionName", "a").is_err());
        assert!(check_session_name("roleSessionName", "alice@example.com").is_ok());
        assert!(check_session_name("roleSessionName", "bad name").is_err());
        let dup = params(&[("Tags.member.1.Key", "A"), ("Tags.member.2.Key", "a")]);
        assert!(matches!(
            tags(&dup),
            Err(StsError::InvalidParameterValue(_))
        ));
        let reserved = params(&[("Tags.member.1.Key", "AWS:team")]);
        assert!(matches!(
            tags(&reserved),
            Err(StsError::InvalidParameterValue(_))
        ));
        assert!(has_reserved_prefix("aws:x") && has_reserved_prefix("Aws:"));
        assert!(!has_reserved_prefix("aws") && !has_reserved_prefix("team:aws:"));
        let long = "x".repeat(2049);
        assert!(session_policy_text(&params(&[("Policy", &long)])).is_err());
    }
}
