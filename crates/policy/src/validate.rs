//! Validation of a policy document with IAM's rules and IAM's own `MalformedPolicyDocument`
//! messages.
//!
//! IAM checks a document in stages and reports the first stage that fails; within a stage the
//! message is fixed ("Syntax errors in policy.") or names the offending value. The stages, in the
//! order IAM applies them (observed through moto's cases, which record AWS's answers):
//! 1. syntax: JSON object, known elements, element types, known condition operators;
//! 2. version: managed and inline identity policies must say `2012-10-17`;
//! 3. legacy parsing: `Effect` spelled exactly, dates readable, ARN-looking resources whole;
//! 4. Sids unique; 5. actions present; 6. the resource format message recorded during stage 3;
//! 7. action vendor prefixes; 8. resources present.
//!
//! The kind of policy adds IAM's rules about `Principal` (forbidden in identity and session
//! policies, required in trust and resource policies) and `Resource` (forbidden in trust policies).

use serde_json::{Map, Value};

use crate::condition::{value_text, Family, Operator};
use crate::date;
use crate::error::{self as msg, PolicyError};

/// Which kind of policy a document is; decides the rules about `Principal` and `Resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// An identity-based policy (managed or inline) or a permissions boundary: no `Principal`.
    Identity,
    /// A session policy passed to AssumeRole*: no `Principal`.
    Session,
    /// A role trust policy: `Principal` required, no `Resource`.
    Trust,
    /// A resource-based policy: `Principal` required.
    Resource,
}

/// How strictly to validate.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// The kind of policy.
    pub kind: PolicyKind,
    /// Require `"Version": "2012-10-17"`, as IAM's CreatePolicy does. Off, documents with
    /// `2008-10-17` or no version are accepted (and their `${...}` text is literal).
    pub require_current_version: bool,
}

impl ParseOptions {
    /// IAM's rules for the kind: identity policies need the current version, the others accept
    /// the older one.
    pub fn for_kind(kind: PolicyKind) -> Self {
        ParseOptions {
            kind,
            require_current_version: kind == PolicyKind::Identity,
        }
    }
}

pub(crate) const VERSION_2012: &str = "2012-10-17";
pub(crate) const VERSION_2008: &str = "2008-10-17";
const TOP_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "Federated", "Service", "CanonicalUser"];

/// The statements of a document that passed the syntax stage.
pub(crate) fn statements(doc: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    match doc.get("Statement") {
        Some(Value::Object(one)) => vec![one],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// The strings of a string-or-list element (null entries, which IAM tolerates, are skipped).
pub(crate) fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Validate a parsed JSON document. On success the document is known to have the shape that
/// [`crate::Policy`] compiles.
pub(crate) fn validate(doc: &Value, opts: ParseOptions) -> Result<(), PolicyError> {
    let obj = syntax(doc).ok_or_else(|| PolicyError::malformed(msg::SYNTAX))?;
    let stmts = statements(obj);

    if opts.require_current_version
        && obj.get("Version").and_then(Value::as_str) != Some(VERSION_2012)
    {
        return Err(PolicyError::malformed(msg::VERSION));
    }

    kind_rules(&stmts, opts.kind)?;

    // Stage 3: legacy parsing, which also records the resource-format message for stage 7.
    let mut resource_error: Option<String> = None;
    for s in &stmts {
        let effect = s.get("Effect").and_then(Value::as_str);
        if effect != Some("Allow") && effect != Some("Deny") {
            return Err(PolicyError::malformed(msg::LEGACY));
        }
        if let Some(Value::Object(cond)) = s.get("Condition") {
            if !legacy_dates(cond) {
                return Err(PolicyError::malformed(msg::LEGACY));
            }
        }
    }
    for key in ["Resource", "NotResource"] {
        for s in &stmts {
            let Some(v) = s.get(key) else { continue };
            let mut list = strings(Some(v));
            if v.is_array() {
                // IAM reports the format error of the last resource in descending order.
                list.sort_unstable_by(|a, b| b.cmp(a));
            }
            for r in &list {
                if let Some(e) = resource_format_error(r) {
                    resource_error = Some(e);
                }
            }
            if resource_error.is_none() && !list.iter().all(|r| legacy_resource_ok(r)) {
                return Err(PolicyError::malformed(msg::LEGACY));
            }
        }
    }

    // Stage 4: unique Sids (empty Sids do not count).
    let mut seen = std::collections::HashSet::new();
    for s in &stmts {
        if let Some(sid) = s.get("Sid").and_then(Value::as_str) {
            if !sid.is_empty() && !seen.insert(sid) {
                return Err(PolicyError::malformed(msg::SID_UNIQUE));
            }
        }
    }

    // Stages 5 to 8.
    if !stmts.iter().all(|s| has_one_of(s, "Action", "NotAction")) {
        return Err(PolicyError::malformed(msg::NEED_ACTIONS));
    }
    if let Some(e) = resource_error {
        return Err(PolicyError::Malformed(e));
    }
    for key in ["Action", "NotAction"] {
        for s in &stmts {
            for action in strings(s.get(key)) {
                action_prefix(action)?;
            }
        }
    }
    if opts.kind != PolicyKind::Trust
        && !stmts
            .iter()
            .all(|s| has_one_of(s, "Resource", "NotResource"))
    {
        return Err(PolicyError::malformed(msg::NEED_RESOURCES));
    }

    Ok(())
}

/// Stage 1. `None` on any syntax error.
fn syntax(doc: &Value) -> Option<&Map<String, Value>> {
    let obj = doc.as_object()?;
    if !obj.keys().all(|k| TOP_ELEMENTS.contains(&k.as_str())) {
        return None;
    }
    if let Some(v) = obj.get("Version") {
        let v = v.as_str()?;
        if v != VERSION_2012 && v != VERSION_2008 {
            return None;
        }
    }
    if let Some(id) = obj.get("Id") {
        id.as_str()?;
    }
    let stmts: Vec<&Value> = match obj.get("Statement")? {
        Value::Array(items) if !items.is_empty() => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => return None,
    };
    for s in stmts {
        statement_syntax(s.as_object()?)?;
    }
    Some(obj)
}

fn statement_syntax(s: &Map<String, Value>) -> Option<()> {
    if !s.keys().all(|k| STATEMENT_ELEMENTS.contains(&k.as_str())) {
        return None;
    }
    for (a, b) in [
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ] {
        if s.contains_key(a) && s.contains_key(b) {
            return None;
        }
    }
    let effect = s.get("Effect")?.as_str()?;
    if !effect.eq_ignore_ascii_case("allow") && !effect.eq_ignore_ascii_case("deny") {
        return None;
    }
    for key in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(v) = s.get(key) {
            string_or_list(v)?;
        }
    }
    if let Some(sid) = s.get("Sid") {
        sid.as_str()?;
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(p) = s.get(key) {
            principal_syntax(p)?;
        }
    }
    if let Some(cond) = s.get("Condition") {
        for (op, block) in cond.as_object()? {
            let block = block.as_object()?;
            for v in block.values() {
                condition_values(v)?;
            }
            if Operator::parse(op).is_none() && !block.is_empty() {
                return None;
            }
        }
    }
    Some(())
}

/// A string, or a list of strings (IAM tolerates `null` entries).
fn string_or_list(v: &Value) -> Option<()> {
    match v {
        Value::String(_) => Some(()),
        Value::Array(items) => items
            .iter()
            .all(|i| i.is_string() || i.is_null())
            .then_some(()),
        _ => None,
    }
}

/// A condition value: string, boolean or number, or a list of those.
fn condition_values(v: &Value) -> Option<()> {
    match v {
        Value::Array(items) => items.iter().all(|i| value_text(i).is_some()).then_some(()),
        other => value_text(other).map(|_| ()),
    }
}

/// `"*"`, or `{"AWS"|"Federated"|"Service"|"CanonicalUser": string or non-empty list}`.
fn principal_syntax(p: &Value) -> Option<()> {
    match p {
        Value::String(s) if s == "*" => Some(()),
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                if !PRINCIPAL_TYPES.contains(&k.as_str()) {
                    return None;
                }
                match v {
                    Value::String(s) if !s.is_empty() => {}
                    Value::Array(items) if !items.is_empty() => {
                        if !items
                            .iter()
                            .all(|i| i.as_str().is_some_and(|s| !s.is_empty()))
                        {
                            return None;
                        }
                    }
                    _ => return None,
                }
            }
            Some(())
        }
        _ => None,
    }
}

fn kind_rules(stmts: &[&Map<String, Value>], kind: PolicyKind) -> Result<(), PolicyError> {
    let has_principal =
        |s: &&Map<String, Value>| s.contains_key("Principal") || s.contains_key("NotPrincipal");
    match kind {
        PolicyKind::Identity | PolicyKind::Session => {
            if stmts.iter().any(has_principal) {
                return Err(PolicyError::malformed(msg::NO_PRINCIPAL_ALLOWED));
            }
        }
        PolicyKind::Trust | PolicyKind::Resource => {
            if !stmts.iter().all(has_principal) {
                return Err(PolicyError::malformed(msg::NEED_PRINCIPAL));
            }
            if kind == PolicyKind::Trust
                && stmts
                    .iter()
                    .any(|s| s.contains_key("Resource") || s.contains_key("NotResource"))
            {
                return Err(PolicyError::malformed(msg::NO_RESOURCE_ALLOWED));
            }
        }
    }
    Ok(())
}

/// Every value under a `Date*` operator reads as a date.
fn legacy_dates(cond: &Map<String, Value>) -> bool {
    cond.iter().all(|(op, block)| {
        let is_date = Operator::parse(op).is_some_and(|o| o.family() == Family::Date);
        if !is_date {
            return true;
        }
        let Some(block) = block.as_object() else {
            return true;
        };
        block.values().all(|v| {
            let items: Vec<&Value> = match v {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            // Dates must be written as text or numbers; IAM's legacy parser refuses booleans.
            items.iter().all(|i| match i {
                Value::String(s) => date::parse(s).is_some(),
                Value::Number(n) => date::parse(&n.to_string()).is_some(),
                _ => false,
            })
        })
    })
}

/// An ARN-looking resource must have all six parts and a service.
fn legacy_resource_ok(r: &str) -> bool {
    if r == "*" {
        return true;
    }
    let colons = r.matches(':').count();
    if colons < 5 && r.contains("::") {
        return false;
    }
    r.split(':')
        .nth(2)
        .is_some_and(|service| !service.is_empty())
}

/// The format message IAM gives for a resource, if any.
fn resource_format_error(r: &str) -> Option<String> {
    if r == "*" {
        return None;
    }
    let Some((_arn, rest)) = r.split_once(':') else {
        return Some(format!("Resource {r} must be in ARN format or \"*\"."));
    };
    let (partition, rest) = match rest.split_once(':') {
        Some((p, tail)) => (p, Some(tail)),
        None => (rest, None),
    };
    if partition != "aws" && partition != "*" {
        let remaining: Vec<&str> = rest.unwrap_or("").split(':').collect();
        let part = |i: usize| remaining.get(i).copied();
        let arn1 = match part(0) {
            Some(p) if !p.is_empty() || remaining.len() > 1 => p,
            _ => "*",
        };
        let arn2 = part(1).unwrap_or("*");
        let arn3 = part(2).unwrap_or("*");
        let arn4 = if remaining.len() > 3 {
            remaining.get(3..).unwrap_or_default().join(":")
        } else {
            "*".to_owned()
        };
        return Some(format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{arn1}:{arn2}:{arn3}:{arn4}\"."
        ));
    }
    let Some(rest) = rest else {
        return Some(msg::RESOURCE_VENDOR.to_owned());
    };
    let (service, rest) = rest.split_once(':').unwrap_or((rest, ""));
    // `rest` is now REGION:ACCOUNT:RESOURCE. IAM is global; S3 buckets and objects are too, but
    // S3 resources that belong to an account (access points, batch jobs, ...) are regional.
    let s3_account_resource = rest
        .split_once(':')
        .is_some_and(|(_region, tail)| !tail.starts_with(':') && !tail.is_empty());
    if !(rest.starts_with(':') || service == "s3" && s3_account_resource) {
        match service {
            "iam" => {
                return Some(format!(
                    "IAM resource {r} cannot contain region information."
                ))
            }
            "s3" => return Some(format!("Resource {r} can not contain region information.")),
            _ => {}
        }
    }
    if service == "iam" {
        let resource = rest
            .split_once(':')
            .and_then(|(_region, tail)| tail.split_once(':'))
            .map_or("", |(_account, resource)| resource);
        if resource != "*"
            && !msg::IAM_PATH_PREFIXES
                .iter()
                .any(|p| resource.starts_with(p))
        {
            return Some(msg::IAM_PATH.to_owned());
        }
    }
    None
}

fn has_one_of(s: &Map<String, Value>, a: &str, b: &str) -> bool {
    let present = |k: &str| match s.get(k) {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
        None => false,
    };
    present(a) || present(b)
}

fn action_prefix(action: &str) -> Result<(), PolicyError> {
    let parts: Vec<&str> = action.split(':').collect();
    match parts.as_slice() {
        ["*"] => Ok(()),
        [_] => Err(PolicyError::malformed(msg::ACTION_VENDOR)),
        [vendor, _] => {
            let ok = *vendor == "*"
                || vendor
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if ok {
                Ok(())
            } else {
                Err(PolicyError::Malformed(format!(
                    "Vendor {vendor} is not valid"
                )))
            }
        }
        _ => Err(PolicyError::malformed(msg::ACTION_COLON)),
    }
}
