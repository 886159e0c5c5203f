//! `idbroker policy lint` and `idbroker policy simulate`: the policy engine for people and scripts.
//!
//! The batch simulation format (one JSON object per line):
//! `{"identity_policies":[doc...], "permissions_boundary":doc|null, "session_policies":[doc...],
//!   "resource_policy":doc|null, "request":{"principal":"arn:...","action":"s3:GetObject",
//!   "resource":"arn:...","context":{"aws:SourceIp":"203.0.113.9","aws:TagKeys":["a","b"]}}}`.
//! A document is a JSON object or a string holding one. Other fields (such as `id`) are copied to
//! the answer: `{"id":..., "decision":"Allow"|"ExplicitDeny"|"ImplicitDeny", "matched":[...]}`.

use idbroker_policy::{
    lint, Context, Evaluation, Finding, ParseOptions, Policy, PolicyKind, PolicySet, Principal,
    Request, Severity,
};
use serde_json::{json, Map, Value};

/// Fields of a batch case that the simulator reads; every other field is copied to the answer.
const CASE_FIELDS: [&str; 5] = [
    "identity_policies",
    "permissions_boundary",
    "session_policies",
    "resource_policy",
    "request",
];

/// A simulation case, read and compiled.
#[derive(Debug)]
pub struct Case {
    identity: Vec<Policy>,
    boundary: Option<Policy>,
    session: Vec<Policy>,
    resource: Option<Policy>,
    request: Request,
}

impl Case {
    /// Read a batch case. The error says which part is wrong.
    pub fn from_json(case: &Value) -> Result<Self, String> {
        let obj = case.as_object().ok_or("a case must be a JSON object")?;
        let list = |key: &str, kind: PolicyKind| -> Result<Vec<Policy>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(docs)) => docs
                    .iter()
                    .enumerate()
                    .map(|(i, d)| policy(d, kind, &format!("{key}[{i}]")))
                    .collect(),
                Some(_) => Err(format!("{key} must be a list of policy documents")),
            }
        };
        let one = |key: &str, kind: PolicyKind| -> Result<Option<Policy>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(d) => policy(d, kind, key).map(Some),
            }
        };
        let identity = list("identity_policies", PolicyKind::Identity)?;
        let session = list("session_policies", PolicyKind::Session)?;
        let boundary = one("permissions_boundary", PolicyKind::Identity)?;
        let resource = one("resource_policy", PolicyKind::Resource)?;
        let req = obj
            .get("request")
            .and_then(Value::as_object)
            .ok_or("request must be an object")?;
        let text = |key: &str| -> Result<&str, String> {
            req.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("request.{key} must be a string"))
        };
        let context = context(req.get("context"))?;
        let mut request = Request::new(text("action")?, text("resource")?, context);
        match req.get("principal") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) => request = request.with_principal(Principal::infer(p)),
            Some(_) => return Err("request.principal must be a string".into()),
        }
        Ok(Case {
            identity,
            boundary,
            session,
            resource,
            request,
        })
    }

    /// Evaluate the case.
    pub fn evaluate(&self) -> Evaluation {
        let set = PolicySet {
            identity: self.identity.iter().collect(),
            permissions_boundary: self.boundary.as_ref(),
            session: self.session.iter().collect(),
            resource: self.resource.as_ref(),
            ..Default::default()
        };
        set.evaluate(&self.request)
    }
}

fn policy(doc: &Value, kind: PolicyKind, name: &str) -> Result<Policy, String> {
    let opts = ParseOptions {
        kind,
        require_current_version: false,
    };
    let parsed = match doc {
        Value::String(text) => Policy::parse_with(text, opts),
        other => Policy::from_value(other, opts),
    };
    parsed
        .map(|p| p.with_id(name))
        .map_err(|e| format!("{name}: MalformedPolicyDocument: {e}"))
}

fn context(v: Option<&Value>) -> Result<Context, String> {
    let mut ctx = Context::new();
    let Some(v) = v else { return Ok(ctx) };
    if v.is_null() {
        return Ok(ctx);
    }
    let map = v.as_object().ok_or("request.context must be an object")?;
    for (key, value) in map {
        match value {
            Value::Array(items) => {
                let values = items
                    .iter()
                    .map(|i| scalar(i).ok_or_else(|| bad_context(key)))
                    .collect::<Result<Vec<_>, _>>()?;
                ctx.insert_multi(key, values);
            }
            other => {
                ctx.insert(key, scalar(other).ok_or_else(|| bad_context(key))?);
            }
        }
    }
    Ok(ctx)
}

fn bad_context(key: &str) -> String {
    format!("request.context[{key:?}] must be a string or a list of strings")
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The JSON form of an evaluation.
pub fn evaluation_json(e: &Evaluation) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("decision".into(), e.decision.as_str().into());
    let matched: Vec<Value> = e
        .matched
        .iter()
        .map(|m| {
            json!({
                "layer": m.layer.as_str(),
                "policy": &*m.policy,
                "sid": m.sid.as_deref(),
                "statement": m.index,
                "effect": match m.effect { idbroker_policy::Effect::Allow => "Allow", idbroker_policy::Effect::Deny => "Deny" },
            })
        })
        .collect();
    out.insert("matched".into(), Value::Array(matched));
    if let Some(layer) = e.missing {
        out.insert("missing".into(), layer.as_str().into());
    }
    out
}

/// Answer one line of batch input. Never fails: a bad line gets an `error` answer.
pub fn simulate_line(line: &str) -> Value {
    let case: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({ "error": format!("not a JSON object: {e}") }),
    };
    let mut out = Map::new();
    if let Some(obj) = case.as_object() {
        for (k, v) in obj {
            if !CASE_FIELDS.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    match Case::from_json(&case) {
        Ok(c) => out.extend(evaluation_json(&c.evaluate())),
        Err(e) => {
            out.insert("error".into(), e.into());
        }
    }
    Value::Object(out)
}

/// The kind to lint a document as, when the user did not say: a document with `Principal` is a
/// trust policy when it only speaks of `sts:` actions and names no resource, else a resource
/// policy; anything else is an identity policy.
pub fn guess_kind(text: &str) -> PolicyKind {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return PolicyKind::Identity;
    };
    let stmts: Vec<&Map<String, Value>> = match doc.get("Statement") {
        Some(Value::Object(s)) => vec![s],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let has_principal = stmts
        .iter()
        .any(|s| s.contains_key("Principal") || s.contains_key("NotPrincipal"));
    if !has_principal {
        return PolicyKind::Identity;
    }
    let no_resource = stmts
        .iter()
        .all(|s| !s.contains_key("Resource") && !s.contains_key("NotResource"));
    let sts_only = stmts.iter().all(|s| {
        let actions: Vec<&str> = match s.get("Action") {
            Some(Value::String(a)) => vec![a],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        actions
            .iter()
            .all(|a| a.to_ascii_lowercase().starts_with("sts:"))
    });
    if no_resource && sts_only {
        PolicyKind::Trust
    } else {
        PolicyKind::Resource
    }
}

/// Lint one document; the kind is guessed when `kind` is `None`.
pub fn lint_text(text: &str, kind: Option<PolicyKind>) -> (PolicyKind, Vec<Finding>) {
    let kind = kind.unwrap_or_else(|| guess_kind(text));
    (kind, lint(text, ParseOptions::for_kind(kind)))
}

/// Does any finding block the document?
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// A policy kind's name on the command line.
pub fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Identity => "identity",
        PolicyKind::Session => "session",
        PolicyKind::Trust => "trust",
        PolicyKind::Resource => "resource",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_line_round_trip() {
        let out = simulate_line(
            r#"{"id":7,"identity_policies":[{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}}],
               "request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","context":{"aws:TagKeys":["a","b"]}}}"#,
        );
        assert_eq!(out["id"], 7);
        assert_eq!(out["decision"], "Allow");
        assert_eq!(out["matched"][0]["sid"], "A");
        assert_eq!(out["matched"][0]["policy"], "identity_policies[0]");
    }

    #[test]
    fn bad_lines_get_errors() {
        assert!(simulate_line("{").get("error").is_some());
        let out = simulate_line(r#"{"id":"x","request":{"action":1}}"#);
        assert_eq!(out["id"], "x");
        assert!(out["error"]
            .as_str()
            .is_some_and(|e| e.contains("request.action")));
        let out = simulate_line(
            r#"{"identity_policies":[{"Statement":{"Effect":"Allow","Action":"nope","Resource":"*"}}],"request":{"action":"a:b","resource":"*"}}"#,
        );
        assert!(out["error"]
            .as_str()
            .is_some_and(|e| e.contains("prefaced by a vendor")));
    }

    #[test]
    fn kind_guessing() {
        assert_eq!(
            guess_kind(
                r#"{"Statement":{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithSAML"}}"#
            ),
            PolicyKind::Trust
        );
        assert_eq!(
            guess_kind(
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}"#
            ),
            PolicyKind::Resource
        );
        assert_eq!(guess_kind("garbage"), PolicyKind::Identity);
    }
}
