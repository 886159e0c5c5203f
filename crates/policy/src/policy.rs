//! A validated, compiled policy document.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::arn_pattern::ArnPattern;
use crate::condition::{ConditionBlock, Undecided};
use crate::context::{Principal, PrincipalKind, Request};
use crate::error::PolicyError;
use crate::pattern::{matched, ArnMode, Pattern, Syntax, Unresolved};
use crate::validate::{self, ParseOptions, PolicyKind, VERSION_2008, VERSION_2012};

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Denies, overriding any Allow.
    Deny,
}

/// The policy language version a document declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
    /// No `Version` element: as 2008-10-17.
    Absent,
}

/// `X` or `NotX`, or neither.
#[derive(Debug, Clone)]
enum Polarity<T> {
    Absent,
    Is(T),
    Not(T),
}

/// The principals named in a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default)]
struct PrincipalSet {
    /// `"Principal": "*"`: everyone.
    everyone: bool,
    aws: Vec<Box<str>>,
    federated: Vec<Box<str>>,
    service: Vec<Box<str>>,
    canonical: Vec<Box<str>>,
}

/// How a Principal element matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    /// Not at all.
    No,
    /// Through the caller's account (`123456789012` or its `root` ARN). Naming an account
    /// delegates to that account's identity policies: it grants nothing on its own.
    Account,
    /// Through the role of a session, or a wildcard.
    Indirect,
    /// The caller's own ARN (an IAM user or the role session itself) is named.
    Direct,
}

impl PrincipalSet {
    fn from_value(v: &Value) -> Self {
        let mut set = PrincipalSet::default();
        match v {
            Value::String(s) if s == "*" => set.everyone = true,
            Value::Object(map) => {
                for (k, vals) in map {
                    let list: Vec<Box<str>> = validate::strings(Some(vals))
                        .into_iter()
                        .map(Into::into)
                        .collect();
                    match k.as_str() {
                        "AWS" => set.aws.extend(list),
                        "Federated" => set.federated.extend(list),
                        "Service" => set.service.extend(list),
                        "CanonicalUser" => set.canonical.extend(list),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        set
    }

    /// `"*"` or `{"AWS": "*"}`.
    fn is_wildcard(&self) -> bool {
        self.everyone || self.aws.iter().any(|a| &**a == "*")
    }

    fn matches(&self, p: &Principal) -> PrincipalMatch {
        if self.everyone {
            return PrincipalMatch::Indirect;
        }
        let exact = |list: &[Box<str>]| {
            if list.iter().any(|v| &**v == p.id()) {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::No
            }
        };
        match p.kind() {
            PrincipalKind::Federated => exact(&self.federated),
            PrincipalKind::Service => exact(&self.service),
            PrincipalKind::CanonicalUser => exact(&self.canonical),
            PrincipalKind::Aws => {
                let mut best = PrincipalMatch::No;
                for v in &self.aws {
                    let m = aws_principal_match(v, p);
                    if m == PrincipalMatch::Direct {
                        return m;
                    }
                    best = best.max(m);
                }
                best
            }
        }
    }
}

/// One `"AWS"` principal value against an AWS caller.
fn aws_principal_match(value: &str, p: &Principal) -> PrincipalMatch {
    if value == "*" {
        return PrincipalMatch::Indirect;
    }
    if value == p.id() {
        return PrincipalMatch::Direct;
    }
    let account = p.account().unwrap_or("");
    let is_account =
        (value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) && value == account)
            || value
                .strip_prefix("arn:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(_partition, rest)| {
                    rest.strip_prefix("iam::")
                        .and_then(|rest| rest.strip_suffix(":root"))
                        .is_some_and(|acct| !account.is_empty() && acct == account)
                });
    if p.role_arn() == Some(value) {
        PrincipalMatch::Indirect
    } else if is_account {
        PrincipalMatch::Account
    } else {
        PrincipalMatch::No
    }
}

/// A compiled statement.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sid: Option<Arc<str>>,
    pub(crate) index: usize,
    pub(crate) effect: Effect,
    principal: Polarity<PrincipalSet>,
    action: Polarity<Box<[Pattern]>>,
    /// For an `Action` whose every pattern names its service literally: the hashes of those
    /// services. A request for another service cannot match.
    action_services: Option<Box<[u64]>>,
    resource: Polarity<Box<[ArnPattern]>>,
    condition: ConditionBlock,
    /// The condition tests `aws:PrincipalArn` with a positive operator.
    names_principal_arn: bool,
}

/// The outcome of one statement against one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatementMatch {
    /// The statement does not apply.
    No,
    /// It applies; for resource and trust policies, how the principal matched.
    Yes(PrincipalMatch),
}

impl Statement {
    /// Does the statement apply to the request? Fail-closed: when a value cannot be read, a Deny
    /// statement applies and an Allow statement does not. A value holding a policy variable with
    /// no value matches nothing (see [`crate::pattern::matched`]): that is AWS's rule, not a
    /// failure, so it applies whatever the effect.
    ///
    /// `boundary_attached`: the caller has a permissions boundary (it changes what NotPrincipal
    /// means).
    pub(crate) fn applies(&self, req: &Request, boundary_attached: bool) -> StatementMatch {
        match self.try_applies(req, boundary_attached) {
            Ok(m) => m,
            Err(Undecided::Malformed) => match self.effect {
                Effect::Deny => StatementMatch::Yes(PrincipalMatch::Indirect),
                Effect::Allow => StatementMatch::No,
            },
        }
    }

    fn try_applies(
        &self,
        req: &Request,
        boundary_attached: bool,
    ) -> Result<StatementMatch, Undecided> {
        let ctx = &req.context;
        let action_hit = match &self.action {
            Polarity::Is(pats) => any_pattern(pats, &req.action, ctx),
            Polarity::Not(pats) => !any_pattern(pats, &req.action, ctx),
            Polarity::Absent => false,
        };
        if !action_hit {
            return Ok(StatementMatch::No);
        }
        // An entry whose variable has no value "will not match any resource" (IAM User Guide,
        // "Policy variables with no value"): in `Resource` it grants nothing. In `NotResource`
        // it excludes nothing from a Deny (the Deny applies, as in AWS); from an Allow idbroker
        // fails closed instead: the entry excludes every resource, so the Allow grants nothing
        // (an absent key never widens an Allow). The other entries of the list count as usual.
        let resource_hit = match &self.resource {
            Polarity::Is(pats) => any_arn(pats, &req.resource, ctx),
            Polarity::Not(pats) => !pats.iter().any(|p| match p.matches(&req.resource, ctx) {
                Ok(hit) => hit,
                Err(Unresolved) => self.effect == Effect::Allow,
            }),
            // Trust policies have no Resource element: the role itself is the resource.
            Polarity::Absent => true,
        };
        if !resource_hit {
            return Ok(StatementMatch::No);
        }
        let principal = match (&self.principal, req.principal.as_ref()) {
            (Polarity::Absent, _) => PrincipalMatch::Indirect,
            // "Permissions boundaries ... do not limit permissions granted using the
            // aws:PrincipalArn condition key with a wildcard (*) in the Principal element"
            // (IAM User Guide, Principal, IAM role principals): such a grant names the caller.
            (Polarity::Is(set), Some(p)) if set.is_wildcard() && self.names_principal_arn => {
                match set.matches(p) {
                    PrincipalMatch::No => PrincipalMatch::No,
                    _ => PrincipalMatch::Direct,
                }
            }
            (Polarity::Is(set), Some(p)) => set.matches(p),
            (Polarity::Not(set), Some(p)) => {
                // Only a principal named itself is exempt: listing its account (as AWS requires
                // alongside the user or session) exempts no one else of that account. A Deny with
                // NotPrincipal exempts no principal that has a permissions boundary (IAM User
                // Guide, Permissions boundaries, "Important").
                let exempt = match set.matches(p) {
                    PrincipalMatch::Direct => true,
                    PrincipalMatch::Indirect => set.is_wildcard(),
                    PrincipalMatch::Account | PrincipalMatch::No => false,
                };
                let boundary_voids = boundary_attached
                    && self.effect == Effect::Deny
                    && p.kind() == PrincipalKind::Aws;
                if exempt && !boundary_voids {
                    PrincipalMatch::No
                } else {
                    PrincipalMatch::Indirect
                }
            }
            // A principal-bound statement with no principal in the request: fail closed.
            (_, None) => return Err(Undecided::Malformed),
        };
        if principal == PrincipalMatch::No {
            return Ok(StatementMatch::No);
        }
        if !self.condition.eval(ctx)? {
            return Ok(StatementMatch::No);
        }
        Ok(StatementMatch::Yes(principal))
    }
}

fn any_pattern(pats: &[Pattern], subject: &str, ctx: &crate::Context) -> bool {
    pats.iter().any(|p| matched(p.matches(subject, ctx)))
}

fn any_arn(pats: &[ArnPattern], subject: &str, ctx: &crate::Context) -> bool {
    pats.iter().any(|p| matched(p.matches(subject, ctx)))
}

/// Iterator over the statements that can apply to a request's service.
pub(crate) enum Candidates<'a> {
    Masked {
        statements: &'a [Statement],
        mask: u64,
    },
    All {
        statements: std::slice::Iter<'a, Statement>,
        service_hash: u64,
    },
}

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a Statement;

    fn next(&mut self) -> Option<&'a Statement> {
        match self {
            Candidates::Masked { statements, mask } => {
                if *mask == 0 {
                    return None;
                }
                let i = mask.trailing_zeros();
                *mask &= *mask - 1;
                statements.get(usize::try_from(i).ok()?)
            }
            Candidates::All {
                statements,
                service_hash,
            } => statements.find(|st| {
                st.action_services
                    .as_ref()
                    .is_none_or(|s| s.contains(service_hash))
            }),
        }
    }
}

/// A validated and compiled policy document, ready to evaluate requests without re-reading JSON.
#[derive(Debug, Clone)]
pub struct Policy {
    id: Arc<str>,
    kind: PolicyKind,
    version: Version,
    /// The document as it was given (or, from a JSON value, as serialized): what a downstream
    /// verifier is sent, to compile the same policy on its side.
    document: Arc<str>,
    pub(crate) statements: Box<[Statement]>,
    /// For policies of at most 64 statements: which statements can apply to a request for a
    /// given service. Bit `i` stands for statement `i`.
    index: Option<ServiceIndex>,
}

/// Statement bitmasks by the hash of the action's service.
#[derive(Debug, Clone)]
struct ServiceIndex {
    /// Statements that may apply to any service (`*`, `NotAction`, wildcard service names).
    any: u64,
    /// Statements whose actions name this service literally.
    by_service: rustc_hash::FxHashMap<u64, u64>,
}

impl Policy {
    /// The statements that can apply to a request for the service with this hash, in document
    /// order.
    pub(crate) fn candidates(&self, service_hash: u64) -> Candidates<'_> {
        match &self.index {
            Some(ix) => Candidates::Masked {
                statements: &self.statements,
                mask: ix.any | ix.by_service.get(&service_hash).copied().unwrap_or(0),
            },
            None => Candidates::All {
                statements: self.statements.iter(),
                service_hash,
            },
        }
    }

    /// Validate `text` with IAM's rules for `kind` and compile it. The error carries AWS's
    /// `MalformedPolicyDocument` message.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        Self::parse_with(text, ParseOptions::for_kind(kind))
    }

    /// As [`Policy::parse`], with explicit options.
    pub fn parse_with(text: &str, opts: ParseOptions) -> Result<Self, PolicyError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|_| PolicyError::malformed(crate::error::SYNTAX))?;
        Self::compile_value(&doc, opts, text.into())
    }

    /// As [`Policy::parse_with`], from an already parsed JSON value.
    pub fn from_value(doc: &Value, opts: ParseOptions) -> Result<Self, PolicyError> {
        Self::compile_value(doc, opts, doc.to_string().into())
    }

    fn compile_value(
        doc: &Value,
        opts: ParseOptions,
        document: Arc<str>,
    ) -> Result<Self, PolicyError> {
        validate::validate(doc, opts)?;
        let obj = doc
            .as_object()
            .ok_or_else(|| PolicyError::malformed(crate::error::SYNTAX))?;
        let mut policy = compile(obj, opts.kind);
        policy.document = document;
        Ok(policy)
    }

    /// Name the policy (a managed policy ARN, `role/NAME/inline/POLICY`, ...). Defaults to the
    /// document's `Id`, or `policy`.
    pub fn with_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.id = id.into();
        self
    }

    /// The document the policy was compiled from.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// The policy's name.
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// The kind it was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The declared language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

fn compile(obj: &Map<String, Value>, kind: PolicyKind) -> Policy {
    let version = match obj.get("Version").and_then(Value::as_str) {
        Some(VERSION_2012) => Version::V2012_10_17,
        Some(VERSION_2008) => Version::V2008_10_17,
        _ => Version::Absent,
    };
    let variables = version == Version::V2012_10_17;
    let id: Arc<str> = obj
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or("policy")
        .into();
    let action_syntax = Syntax {
        wildcards: true,
        variables: false,
        ignore_case: true,
        arn: ArnMode::Off,
    };
    let resource_syntax = Syntax {
        wildcards: true,
        variables,
        ignore_case: false,
        arn: ArnMode::Resource,
    };
    let statements: Box<[Statement]> = validate::statements(obj)
        .into_iter()
        .enumerate()
        .map(|(index, s)| {
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                _ => Effect::Deny,
            };
            let list = |key: &str| validate::strings(s.get(key));
            let actions = |key: &str| -> Box<[Pattern]> {
                list(key)
                    .iter()
                    .map(|a| Pattern::compile(a, action_syntax))
                    .collect()
            };
            let resources = |key: &str| -> Box<[ArnPattern]> {
                list(key)
                    .iter()
                    .map(|r| ArnPattern::compile(r, resource_syntax))
                    .collect()
            };
            let action_services = s.get("Action").and_then(|_| {
                list("Action")
                    .iter()
                    .map(|a| {
                        let lower = a.to_lowercase();
                        let service = lower.split_once(':')?.0;
                        if service.contains(['*', '?']) {
                            return None;
                        }
                        crate::context::service_hash(&lower)
                    })
                    .collect::<Option<Box<[u64]>>>()
            });
            let condition = s
                .get("Condition")
                .and_then(Value::as_object)
                .map(|c| ConditionBlock::compile(c, variables))
                .unwrap_or_default();
            Statement {
                action_services,
                sid: s
                    .get("Sid")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(Into::into),
                index,
                effect,
                principal: if let Some(p) = s.get("Principal") {
                    Polarity::Is(PrincipalSet::from_value(p))
                } else if let Some(p) = s.get("NotPrincipal") {
                    Polarity::Not(PrincipalSet::from_value(p))
                } else {
                    Polarity::Absent
                },
                action: if s.contains_key("Action") {
                    Polarity::Is(actions("Action"))
                } else if s.contains_key("NotAction") {
                    Polarity::Not(actions("NotAction"))
                } else {
                    Polarity::Absent
                },
                resource: if s.contains_key("Resource") {
                    Polarity::Is(resources("Resource"))
                } else if s.contains_key("NotResource") {
                    Polarity::Not(resources("NotResource"))
                } else {
                    Polarity::Absent
                },
                names_principal_arn: condition.tests_positively("aws:principalarn"),
                condition,
            }
        })
        .collect();
    let index = (statements.len() <= 64).then(|| {
        let mut ix = ServiceIndex {
            any: 0,
            by_service: Default::default(),
        };
        for (i, st) in statements.iter().enumerate() {
            let bit = 1u64 << i;
            match &st.action_services {
                None => ix.any |= bit,
                Some(services) => {
                    for h in services.iter() {
                        *ix.by_service.entry(*h).or_default() |= bit;
                    }
                }
            }
        }
        ix
    });
    Policy {
        id,
        kind,
        version,
        document: Arc::from(""),
        statements,
        index,
    }
}

impl Statement {
    /// Is the statement free of conditions? (for lint)
    pub(crate) fn unconditional(&self) -> bool {
        self.condition.is_empty()
    }

    /// Does any pattern or condition value use a policy variable? (for lint)
    pub(crate) fn uses_variables(&self) -> bool {
        let res = match &self.resource {
            Polarity::Is(p) | Polarity::Not(p) => p.iter().any(ArnPattern::has_vars),
            Polarity::Absent => false,
        };
        res || self.condition.has_vars()
    }

    /// `"Action": "*"` (or a list holding it).
    pub(crate) fn all_actions(&self) -> bool {
        matches!(&self.action, Polarity::Is(p) if p.iter().any(Pattern::is_any))
    }

    /// `"Resource": "*"` (or a list holding it).
    pub(crate) fn all_resources(&self) -> bool {
        matches!(&self.resource, Polarity::Is(p) if p.iter().any(ArnPattern::is_any))
    }

    /// A `NotResource` entry uses a policy variable. (for lint)
    pub(crate) fn not_resource_uses_variables(&self) -> bool {
        matches!(&self.resource, Polarity::Not(p) if p.iter().any(ArnPattern::has_vars))
    }

    /// Uses `NotAction`.
    pub(crate) fn not_action(&self) -> bool {
        matches!(self.action, Polarity::Not(_))
    }

    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub(crate) fn any_principal(&self) -> bool {
        matches!(&self.principal, Polarity::Is(set) if set.is_wildcard())
    }
}
