//! Policy evaluation: which policies apply, and how their answers combine.
//!
//! The logic of AWS's "Policy evaluation logic" page, for requests within one account:
//! 1. an explicit Deny in any applicable policy (identity, boundary, session, resource) wins;
//! 2. a resource-based policy that names the caller itself (an IAM user ARN or the role session
//!    ARN) allows on its own: permissions boundaries and session policies do not limit it;
//! 3. otherwise an Allow must come from an identity-based policy or from a resource-based policy
//!    (for role trust policies, see [`PolicySet::account_principal_delegates`]);
//! 4. when a permissions boundary is set, it must also allow;
//! 5. when session policies are set, one of them must also allow; a federated user session
//!    (`arn:aws:sts::ACCOUNT:federated-user/NAME`, from `GetFederationToken`) without one has no
//!    permissions ("Permissions for GetFederationToken": "if you do not pass a policy with the
//!    GetFederationToken API call, the resulting temporary security credentials have no
//!    permissions"), except what rule 2 grants: a resource-based policy that names the session;
//! 6. otherwise: implicit deny.
//!
//! A resource in another account than the caller's needs both sides: an identity-based Allow
//! and an Allow in that resource's resource-based policy (none there: implicit deny).

use std::sync::Arc;

use crate::arn::SplitArn;
use crate::context::Request;
use crate::policy::{Effect, Policy, PrincipalMatch, StatementMatch};

/// The answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Some policy allows and nothing denies.
    Allow,
    /// A Deny statement applies.
    ExplicitDeny,
    /// Nothing allows (or a required layer does not).
    ImplicitDeny,
}

impl Decision {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
        }
    }

    /// Only `Allow` is an allow.
    pub fn is_allowed(&self) -> bool {
        *self == Decision::Allow
    }
}

/// Which part of a policy set a policy belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Identity-based policies of the principal (user, group, role).
    Identity,
    /// The permissions boundary.
    PermissionsBoundary,
    /// Session policies (passed to AssumeRole*, or a federation token's policy).
    Session,
    /// The resource-based policy (or a role's trust policy).
    Resource,
}

impl Layer {
    /// A short name for output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Layer::Identity => "identity",
            Layer::PermissionsBoundary => "permissions_boundary",
            Layer::Session => "session",
            Layer::Resource => "resource",
        }
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    /// The layer of the policy.
    pub layer: Layer,
    /// The policy's id.
    pub policy: Arc<str>,
    /// The statement's Sid, if it has one.
    pub sid: Option<Arc<str>>,
    /// The statement's position in the policy (0-based).
    pub index: usize,
    /// Its effect.
    pub effect: Effect,
}

/// The decision with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// For an explicit deny, the Deny statements that applied; for an allow, the Allow statements
    /// of every layer that had to allow; for an implicit deny, the Allow statements found in the
    /// layers that did allow.
    pub matched: Vec<MatchedStatement>,
    /// For an implicit deny: the layer that had no applicable Allow.
    pub missing: Option<Layer>,
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// Identity-based policies (inline and managed, of the user, its groups, or the role).
    pub identity: Vec<&'a Policy>,
    /// The permissions boundary, if one is set.
    pub permissions_boundary: Option<&'a Policy>,
    /// Session policies; when non-empty, one of them must allow. A federated user session with
    /// none has no permissions beyond a resource-based policy that names it.
    pub session: Vec<&'a Policy>,
    /// The resource-based policy of the target resource, if it has one.
    pub resource: Option<&'a Policy>,
    /// A resource policy statement that names the caller's account only delegates to the
    /// account's identity policies and grants nothing by itself. AWS applies this to role trust
    /// policies (a role that trusts its account still needs the caller's identity policy to allow
    /// `sts:AssumeRole`); for other resource policies within one account, AWS documents that an
    /// Allow in either kind of policy grants, so this is off by default.
    pub account_principal_delegates: bool,
}

#[derive(Default)]
struct Found {
    deny: Vec<MatchedStatement>,
    allow: Vec<MatchedStatement>,
    /// Resource-policy allow that named the caller directly.
    direct: bool,
    /// Resource-policy allow that grants on its own (not merely through the caller's account).
    resource_grant: bool,
}

fn scan(
    found: &mut Found,
    layer: Layer,
    policy: &Policy,
    req: &Request,
    boundary_attached: bool,
) -> bool {
    let mut allowed = false;
    for st in policy.candidates(req.service_hash) {
        let StatementMatch::Yes(how) = st.applies(req, boundary_attached) else {
            continue;
        };
        let m = MatchedStatement {
            layer,
            policy: policy.id().clone(),
            sid: st.sid.clone(),
            index: st.index,
            effect: st.effect,
        };
        match st.effect {
            Effect::Deny => found.deny.push(m),
            Effect::Allow => {
                allowed = true;
                if layer == Layer::Resource {
                    found.direct |= how == PrincipalMatch::Direct;
                    found.resource_grant |= how != PrincipalMatch::Account;
                }
                found.allow.push(m);
            }
        }
    }
    allowed
}

impl PolicySet<'_> {
    /// Decide a request. Never panics; anything that cannot be read is decided fail-closed.
    pub fn evaluate(&self, req: &Request) -> Evaluation {
        let mut found = Found::default();
        let boundary = self.permissions_boundary.is_some();
        let arn = req.resource_arn();
        let arn = arn.as_ref();
        let mut identity_allows = false;
        for p in &self.identity {
            identity_allows |= scan(&mut found, Layer::Identity, p, req, boundary);
        }
        let boundary_allows = self
            .permissions_boundary
            .map(|p| scan(&mut found, Layer::PermissionsBoundary, p, req, boundary));
        let mut session_allows = false;
        for p in &self.session {
            session_allows |= scan(&mut found, Layer::Session, p, req, boundary);
        }
        let resource_allows = self
            .resource
            .is_some_and(|p| scan(&mut found, Layer::Resource, p, req, boundary));

        if !found.deny.is_empty() {
            return Evaluation {
                decision: Decision::ExplicitDeny,
                matched: found.deny,
                missing: None,
            };
        }
        let same_account = self.resource_in_callers_account(req, arn);
        if resource_allows && found.direct && same_account {
            found.allow.retain(|m| m.layer == Layer::Resource);
            return allow(found.allow);
        }
        // Across accounts both sides must allow: the caller's identity policies and the resource
        // policy of the other account. No resource policy there means no access.
        let grant = if same_account {
            identity_allows
                || if self.account_principal_delegates {
                    found.resource_grant
                } else {
                    resource_allows
                }
        } else {
            identity_allows && resource_allows
        };
        let missing = if !grant {
            Some(if identity_allows {
                Layer::Resource
            } else {
                Layer::Identity
            })
        } else if boundary_allows == Some(false) {
            Some(Layer::PermissionsBoundary)
        } else if self.session_required(req) && !session_allows {
            Some(Layer::Session)
        } else {
            None
        };
        match missing {
            None => allow(found.allow),
            Some(layer) => Evaluation {
                decision: Decision::ImplicitDeny,
                matched: found.allow,
                missing: Some(layer),
            },
        }
    }

    /// Must a session policy allow? When session policies are set; and for a federated user
    /// session always, as if it had an empty one ("Permissions for GetFederationToken").
    fn session_required(&self, req: &Request) -> bool {
        !self.session.is_empty()
            || req
                .principal
                .as_ref()
                .is_some_and(crate::Principal::is_federated_user)
    }

    /// Is the target resource in the caller's account? Unknown (no account in the ARN, as for S3
    /// buckets, or no principal) counts as the same account.
    fn resource_in_callers_account(&self, req: &Request, arn: Option<&SplitArn<'_>>) -> bool {
        let caller = req.principal.as_ref().and_then(|p| p.account());
        let owner = arn.map(|a| a.account()).filter(|a| !a.is_empty());
        match (caller, owner) {
            (Some(c), Some(o)) => c == o,
            _ => true,
        }
    }
}

fn allow(matched: Vec<MatchedStatement>) -> Evaluation {
    Evaluation {
        decision: Decision::Allow,
        matched,
        missing: None,
    }
}

/// Evaluate one policy on its own (deny wins, then allow, else implicit deny), reporting its
/// statements under `layer`.
pub fn evaluate_single(policy: &Policy, layer: Layer, req: &Request) -> Evaluation {
    let mut found = Found::default();
    let allowed = scan(&mut found, layer, policy, req, false);
    if !found.deny.is_empty() {
        Evaluation {
            decision: Decision::ExplicitDeny,
            matched: found.deny,
            missing: None,
        }
    } else if allowed {
        allow(found.allow)
    } else {
        Evaluation {
            decision: Decision::ImplicitDeny,
            matched: Vec::new(),
            missing: Some(layer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, PolicyKind, Principal};

    fn policy(doc: &str, kind: PolicyKind) -> Policy {
        match Policy::parse(doc, kind) {
            Ok(p) => p,
            Err(e) => unreachable!("test policy invalid: {e}"),
        }
    }

    fn identity(doc: &str) -> Policy {
        policy(doc, PolicyKind::Identity)
    }

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

    fn req(resource: &str, principal: &str) -> Request {
        Request::new("s3:GetObject", resource, Context::new())
            .with_principal(Principal::aws(principal))
    }

    /// "If a variable that has no value in the authorization context is used as part of the
    /// `Resource` or `NotResource` element of a policy, the resource that includes a policy
    /// variable with no value will not match any resource" (IAM User Guide, Policy variables
    /// with no value): per entry, whatever the entry's place in the list.
    #[test]
    fn resource_entries_with_a_variable_with_no_value_match_nothing() {
        for resources in [
            r#"["arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::shared/*"]"#,
            r#"["arn:aws:s3:::shared/*", "arn:aws:s3:::home/${aws:username}/*"]"#,
        ] {
            let p = identity(&format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:GetObject","Resource":{resources}}}}}"#
            ));
            let set = PolicySet {
                identity: vec![&p],
                ..Default::default()
            };
            let e = set.evaluate(&req("arn:aws:s3:::shared/doc", ALICE));
            assert_eq!(e.decision, Decision::Allow, "{resources}");
            let e = set.evaluate(&req("arn:aws:s3:::home/alice/doc", ALICE));
            assert_eq!(e.decision, Decision::ImplicitDeny, "{resources}");
        }
        // NotResource: the entry excludes nothing, so a Deny applies to every resource.
        let p = identity(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}]}"#,
        );
        let set = PolicySet {
            identity: vec![&p],
            ..Default::default()
        };
        let e = set.evaluate(&req("arn:aws:s3:::shared/doc", ALICE));
        assert_eq!(e.decision, Decision::ExplicitDeny);
    }

    /// IAM User Guide, Permissions for GetFederationToken: without a session policy a federated
    /// user session has no permissions, except those a resource-based policy grants to that
    /// session by name.
    #[test]
    fn federated_user_sessions_need_a_session_policy() {
        let fed = "arn:aws:sts::123456789012:federated-user/bob";
        let user_policy = identity(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        );
        let session = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
            PolicyKind::Session,
        );
        let mut set = PolicySet {
            identity: vec![&user_policy],
            ..Default::default()
        };
        let e = set.evaluate(&req("arn:aws:s3:::shared/doc", fed));
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert_eq!(e.missing, Some(Layer::Session));
        // The IAM user itself keeps its permissions.
        assert_eq!(
            set.evaluate(&req(
                "arn:aws:s3:::shared/doc",
                "arn:aws:iam::123456789012:user/bob"
            ))
            .decision,
            Decision::Allow
        );
        set.session = vec![&session];
        assert_eq!(
            set.evaluate(&req("arn:aws:s3:::shared/doc", fed)).decision,
            Decision::Allow
        );
        // A resource policy that names the session grants on its own.
        let named = policy(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{fed}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}}}}"#
            ),
            PolicyKind::Resource,
        );
        let account = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}}"#,
            PolicyKind::Resource,
        );
        let set = PolicySet {
            resource: Some(&named),
            ..Default::default()
        };
        assert_eq!(
            set.evaluate(&req("arn:aws:s3:::shared/doc", fed)).decision,
            Decision::Allow
        );
        let set = PolicySet {
            identity: vec![&user_policy],
            resource: Some(&account),
            ..Default::default()
        };
        assert_eq!(
            set.evaluate(&req("arn:aws:s3:::shared/doc", fed)).decision,
            Decision::ImplicitDeny
        );
    }
}
