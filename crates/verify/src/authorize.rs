//! Authorization of a verified request: the session's compiled policies (identity ∩
//! permissions boundary ∩ session policies) and the global condition keys, decided by
//! [`Verifier::authorize`].

use std::net::IpAddr;
use std::time::SystemTime;

use idbroker_policy::{Context, Decision, Evaluation, PolicySet, Request};

use crate::caller::CallerIdentity;
use crate::condition_keys::{
    insert_mfa_age, insert_request_keys, insert_requested_region, PrincipalKeys,
};
use crate::{VerifiedCaller, Verifier, VerifyError};

/// Facts about the request that the signature does not carry, for condition keys.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Now (`aws:CurrentTime`, `aws:EpochTime`).
    pub now: SystemTime,
    /// The client's address (`aws:SourceIp`), as the service sees it.
    pub source_ip: Option<IpAddr>,
    /// Received over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// Service-specific keys (`orders:Region`, ...). Keys starting with `aws:` are ignored: global
    /// keys come from the session and the request only.
    pub extra: &'a [(&'a str, &'a str)],
}

impl RequestFacts<'_> {
    /// Facts with only the time known (no source IP, not TLS, no extra keys).
    pub fn at(now: SystemTime) -> Self {
        RequestFacts {
            now,
            source_ip: None,
            secure_transport: false,
            extra: &[],
        }
    }
}

impl Verifier {
    /// May `caller` perform `action` on `resource`? Identity policies ∩ permissions boundary ∩
    /// session policies, with the global condition keys filled in.
    pub fn authorize(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Decision {
        self.evaluate(caller, action, resource, facts).decision
    }

    /// As [`authorize`](Self::authorize), with the reasons.
    pub fn evaluate(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Evaluation {
        let pol = &caller.policies;
        if !pol.resolved {
            return Evaluation {
                decision: Decision::ImplicitDeny,
                matched: Vec::new(),
                missing: Some(idbroker_policy::Layer::Identity),
            };
        }
        // The session's keys are shared (layered), not copied; the per-request keys are
        // compiled once.
        let mut ctx = Context::layered(caller.base_context.clone());
        for (k, v) in facts.extra {
            let global = k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"));
            if !global {
                ctx.insert(k, *v);
            }
        }
        insert_request_keys(
            &mut ctx,
            facts.now,
            facts.secure_transport,
            facts.source_ip.map(|ip| ip.to_string()),
        );
        insert_requested_region(&mut ctx, &caller.region);
        let id = &caller.identity;
        insert_mfa_age(&mut ctx, id.mfa_authenticated_at, facts.now);
        let principal = match &id.role_arn {
            Some(role) => idbroker_policy::Principal::assumed_role(&id.arn, role),
            None => idbroker_policy::Principal::aws(&id.arn),
        };
        let req = Request::new(action, resource, ctx).with_principal(principal);
        let set = PolicySet {
            identity: pol.identity.iter().map(|p| &**p).collect(),
            permissions_boundary: pol.boundary.as_deref(),
            session: pol.session.iter().map(|p| &**p).collect(),
            resource: None,
            account_principal_delegates: false,
        };
        set.evaluate(&req)
    }

    /// [`authorize`](Self::authorize) as a `Result`: anything but `Allow` is
    /// [`VerifyError::AccessDenied`].
    pub fn require(
        &self,
        caller: &VerifiedCaller,
        action: &str,
        resource: &str,
        facts: &RequestFacts<'_>,
    ) -> Result<(), VerifyError> {
        if self.authorize(caller, action, resource, facts).is_allowed() {
            Ok(())
        } else {
            Err(VerifyError::AccessDenied {
                principal: caller.arn().to_owned(),
                action: action.to_owned(),
                resource: resource.to_owned(),
            })
        }
    }
}

/// The condition keys that depend on the session only: shared by all its requests.
pub(crate) fn base_context(id: &CallerIdentity) -> Context {
    let mut ctx = Context::new();
    PrincipalKeys {
        kind: id.kind,
        arn: &id.arn,
        role_arn: id.role_arn.as_deref(),
        account: &id.account,
        user_id: &id.user_id,
        user_name: id.user_name.as_deref(),
        issued_at: id.issued_at,
        source_identity: id.source_identity.as_deref(),
        mfa: id.mfa,
    }
    .insert_into(
        &mut ctx,
        id.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())),
    );
    ctx
}
