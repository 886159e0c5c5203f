//! Role trust policies: may this caller take this role?
//!
//! A trust policy is the role's resource-based policy. Its statements name who may assume the
//! role (`Principal`), with which action (`sts:AssumeRole`, `sts:AssumeRoleWithSAML`,
//! `sts:AssumeRoleWithWebIdentity`, `sts:TagSession`, `sts:SetSourceIdentity`) and under which
//! conditions (`saml:aud`, `HOST:sub`, `sts:RoleSessionName`, ...).

use crate::context::{Context, Principal, Request};
use crate::eval::{evaluate_single, Evaluation, Layer};
use crate::policy::Policy;

/// The STS actions a trust policy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustAction {
    /// `sts:AssumeRole`
    AssumeRole,
    /// `sts:AssumeRoleWithSAML`
    AssumeRoleWithSaml,
    /// `sts:AssumeRoleWithWebIdentity`
    AssumeRoleWithWebIdentity,
    /// `sts:TagSession`, needed in addition when session tags are passed.
    TagSession,
    /// `sts:SetSourceIdentity`, needed in addition when a source identity is set.
    SetSourceIdentity,
}

impl TrustAction {
    /// The IAM action name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TrustAction::AssumeRole => "sts:AssumeRole",
            TrustAction::AssumeRoleWithSaml => "sts:AssumeRoleWithSAML",
            TrustAction::AssumeRoleWithWebIdentity => "sts:AssumeRoleWithWebIdentity",
            TrustAction::TagSession => "sts:TagSession",
            TrustAction::SetSourceIdentity => "sts:SetSourceIdentity",
        }
    }
}

/// Decide whether `caller` may perform `action` on the role whose ARN is `role_arn` and whose
/// trust policy is `trust`. Only an `Allow` decision lets the caller in. The context carries the
/// federation keys (`saml:aud`, `HOST/PATH:sub`, ...) and `sts:RoleSessionName`.
///
/// The caller is matched against each statement's `Principal`: a SAML or OIDC provider ARN as
/// `Federated`, an IAM user or role session as `AWS` (by its ARN, its account, or for a session
/// its role ARN).
pub fn evaluate_trust(
    trust: &Policy,
    role_arn: &str,
    caller: &Principal,
    action: TrustAction,
    context: Context,
) -> Evaluation {
    let req = Request::new(action.as_str(), role_arn, context).with_principal(caller.clone());
    evaluate_single(trust, Layer::Resource, &req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decision, PolicyKind};

    const ROLE: &str = "arn:aws:iam::123456789012:role/Admin";

    fn trust(doc: &str) -> Policy {
        match Policy::parse(doc, PolicyKind::Trust) {
            Ok(p) => p,
            Err(e) => unreachable!("test policy invalid: {e}"),
        }
    }

    #[test]
    fn saml_provider_with_audience() {
        let p = trust(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/Okta"},
            "Action":"sts:AssumeRoleWithSAML",
            "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#,
        );
        let okta = Principal::federated("arn:aws:iam::123456789012:saml-provider/Okta");
        let other = Principal::federated("arn:aws:iam::123456789012:saml-provider/Evil");
        let mut ctx = Context::new();
        ctx.insert("saml:aud", "https://signin.aws.amazon.com/saml");
        let ok = evaluate_trust(
            &p,
            ROLE,
            &okta,
            TrustAction::AssumeRoleWithSaml,
            ctx.clone(),
        );
        assert_eq!(ok.decision, Decision::Allow);
        let wrong_idp = evaluate_trust(
            &p,
            ROLE,
            &other,
            TrustAction::AssumeRoleWithSaml,
            ctx.clone(),
        );
        assert_eq!(wrong_idp.decision, Decision::ImplicitDeny);
        let wrong_action =
            evaluate_trust(&p, ROLE, &okta, TrustAction::AssumeRoleWithWebIdentity, ctx);
        assert_eq!(wrong_action.decision, Decision::ImplicitDeny);
        let no_aud = evaluate_trust(
            &p,
            ROLE,
            &okta,
            TrustAction::AssumeRoleWithSaml,
            Context::new(),
        );
        assert_eq!(no_aud.decision, Decision::ImplicitDeny);
    }

    #[test]
    fn account_root_trusts_users_and_sessions_of_that_account() {
        let p = trust(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}"#,
        );
        for caller in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/Dev/alice",
        ] {
            let e = evaluate_trust(
                &p,
                ROLE,
                &Principal::aws(caller),
                TrustAction::AssumeRole,
                Context::new(),
            );
            assert_eq!(e.decision, Decision::Allow, "{caller}");
        }
        let e = evaluate_trust(
            &p,
            ROLE,
            &Principal::aws("arn:aws:iam::999999999999:user/alice"),
            TrustAction::AssumeRole,
            Context::new(),
        );
        assert_eq!(e.decision, Decision::ImplicitDeny);
    }

    #[test]
    fn account_principal_delegates_to_identity_policies_for_roles() {
        use crate::{PolicySet, Request};
        let trust = trust(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
            "Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}"#,
        );
        let allow = match Policy::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}"#,
            PolicyKind::Identity,
        ) {
            Ok(p) => p,
            Err(e) => unreachable!("{e}"),
        };
        let alice = Principal::aws("arn:aws:iam::123456789012:user/alice");
        let req = Request::new("sts:AssumeRole", ROLE, Context::new()).with_principal(alice);
        let mut set = PolicySet {
            resource: Some(&trust),
            account_principal_delegates: true,
            ..Default::default()
        };
        assert_eq!(set.evaluate(&req).decision, Decision::ImplicitDeny);
        set.identity = vec![&allow];
        assert_eq!(set.evaluate(&req).decision, Decision::Allow);
        // Without delegation (other resource policies in one account) the account grant suffices.
        set.identity = vec![];
        set.account_principal_delegates = false;
        assert_eq!(set.evaluate(&req).decision, Decision::Allow);
    }
}
