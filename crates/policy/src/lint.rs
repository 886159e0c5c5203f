//! Lint: what a reviewer wants to know about a policy before it ships, beyond what IAM refuses.

use serde_json::Value;

use crate::condition::Operator;
use crate::policy::{Effect, Policy, Version};
use crate::validate::{self, ParseOptions, PolicyKind};
use crate::PolicyError;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// IAM refuses the document.
    Error,
    /// Valid, but probably not what was meant, or dangerous.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable short code (`malformed`, `full-access`, ...).
    pub code: &'static str,
    /// The statement it concerns (0-based), if any.
    pub statement: Option<usize>,
    /// What is wrong, for a person.
    pub message: String,
}

fn warn(code: &'static str, statement: Option<usize>, message: impl Into<String>) -> Finding {
    Finding {
        severity: Severity::Warning,
        code,
        statement,
        message: message.into(),
    }
}

/// Lint a document as the given kind. A document IAM refuses yields one error (IAM's message);
/// a valid one yields warnings only.
pub fn lint(text: &str, opts: ParseOptions) -> Vec<Finding> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return vec![malformed(PolicyError::malformed(crate::error::SYNTAX))],
    };
    let policy = match Policy::from_value(&doc, opts) {
        Ok(p) => p,
        Err(e) => return vec![malformed(e)],
    };
    let mut out = Vec::new();
    let Some(obj) = doc.as_object() else {
        return out;
    };
    let raw = validate::statements(obj);

    if policy.version() != Version::V2012_10_17 {
        let uses_dollar_brace = raw
            .iter()
            .any(|s| serde_json::to_string(s).is_ok_and(|t| t.contains("${")));
        if uses_dollar_brace {
            out.push(warn(
                "variables-need-2012",
                None,
                "the document uses ${...} but is not Version 2012-10-17: policy variables are read as literal text",
            ));
        }
    }

    for (i, st) in policy.statements.iter().enumerate() {
        let idx = Some(i);
        if st.effect == Effect::Allow
            && st.all_actions()
            && st.all_resources()
            && st.unconditional()
        {
            out.push(warn(
                "full-access",
                idx,
                "Allow of every action (\"*\") on every resource (\"*\") without conditions",
            ));
        }
        if st.effect == Effect::Allow && st.not_action() {
            out.push(warn(
                "allow-not-action",
                idx,
                "Allow with NotAction grants every action not listed, including ones added later",
            ));
        }
        if st.effect == Effect::Allow
            && st.any_principal()
            && st.unconditional()
            && policy.kind() != PolicyKind::Identity
        {
            out.push(warn(
                "any-principal",
                idx,
                "Allow to any principal (\"*\") without conditions",
            ));
        }
        if let Some(Value::Object(cond)) = raw.get(i).and_then(|s| s.get("Condition")) {
            for op in cond.keys() {
                match Operator::parse(op) {
                    None => out.push(warn(
                        "unknown-operator",
                        idx,
                        format!("unknown condition operator {op:?}: its block is ignored"),
                    )),
                    Some(o) if o.is_for_all_values() && st.effect == Effect::Allow && !o.is_negated() => {
                        out.push(warn(
                            "for-all-values-allow",
                            idx,
                            format!("{op} in an Allow also matches when the key is absent from the request; add a Null check"),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        if st.effect == Effect::Allow
            && st.not_resource_uses_variables()
            && policy.version() == Version::V2012_10_17
        {
            out.push(warn(
                "allow-not-resource-variable",
                idx,
                "Allow with a policy variable in NotResource: when the variable has no value AWS lets the Allow cover every resource; idbroker fails closed (the Allow grants nothing), so the two differ",
            ));
        }
        if st.uses_variables() && policy.version() != Version::V2012_10_17 {
            out.push(warn(
                "variables-need-2012",
                idx,
                "policy variables are only substituted in Version 2012-10-17 documents",
            ));
        }
    }

    // Redundant statements: the same statement (Sid aside) twice, or the same value listed twice.
    let canon: Vec<String> = raw
        .iter()
        .map(|s| {
            let mut s = (*s).clone();
            s.remove("Sid");
            serde_json::to_string(&canonical(&Value::Object(s))).unwrap_or_default()
        })
        .collect();
    for (i, c) in canon.iter().enumerate() {
        if let Some(first) = canon.iter().take(i).position(|d| d == c) {
            out.push(warn(
                "redundant-statement",
                Some(i),
                format!("statement {i} repeats statement {first}"),
            ));
        }
    }
    for (i, s) in raw.iter().enumerate() {
        for key in ["Action", "NotAction", "Resource", "NotResource"] {
            let list = validate::strings(s.get(key));
            let mut seen = std::collections::HashSet::new();
            for v in list {
                let norm = if key.ends_with("Action") {
                    v.to_lowercase()
                } else {
                    v.to_owned()
                };
                if !seen.insert(norm) {
                    out.push(warn(
                        "redundant-value",
                        Some(i),
                        format!("{key} lists {v:?} more than once"),
                    ));
                }
            }
        }
    }
    out
}

fn malformed(e: PolicyError) -> Finding {
    Finding {
        severity: Severity::Error,
        code: "malformed",
        statement: None,
        message: e.message().to_owned(),
    }
}

/// Sort object keys and single-element lists so equal statements compare equal.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) if items.len() == 1 => items.first().map(canonical).unwrap_or_default(),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(doc: &str) -> Vec<&'static str> {
        lint(doc, ParseOptions::for_kind(PolicyKind::Identity))
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn findings() {
        assert_eq!(
            codes(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#
            ),
            vec!["full-access"]
        );
        assert_eq!(
            codes(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#
            ),
            vec!["allow-not-action"]
        );
        assert_eq!(
            codes(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Foo":{}}}}"#
            ),
            vec!["unknown-operator"]
        );
        assert_eq!(
            codes(
                r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"a","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
                {"Sid":"b","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}"#
            ),
            vec!["redundant-statement"]
        );
        assert_eq!(
            codes(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/${aws:PrincipalTag/team}/*"}}"#
            ),
            vec!["allow-not-resource-variable"]
        );
        assert_eq!(codes("nope"), vec!["malformed"]);
        let trust = lint(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#,
            ParseOptions::for_kind(PolicyKind::Trust),
        );
        assert_eq!(
            trust.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec!["any-principal"]
        );
    }
}
