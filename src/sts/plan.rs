//! What a decision grants: the [`SessionPlan`] of the session to mint, and the plan of a role
//! session within AWS's packed policy size (shared by every way into a role).

use std::time::Duration;

use crate::directory::{Directory, Role};
use crate::sts::{StsError, Tag};

/// What a federated request asks for a role session, besides its proof: also what the console
/// asks for each role its picker may offer.
#[derive(Debug, Clone)]
pub struct RoleRequest<'a> {
    /// `RoleArn`
    pub role_arn: &'a str,
    /// `DurationSeconds` (900..=43200); what applies without it is the action's.
    pub duration: Option<u32>,
    /// `Policy`: an inline session policy (not yet parsed).
    pub policy: Option<&'a str>,
    /// `PolicyArns.member.N.arn`
    pub policy_arns: Vec<&'a str>,
}

/// The principal part of a session to mint.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    /// The session principal's ARN.
    pub arn: String,
    /// `AROA...:name` or the user's id.
    pub user_id: String,
    /// The account.
    pub account: String,
    /// For role sessions: the role ARN (with path), name and session name.
    pub role: Option<(String, String, String)>,
    /// For user sessions (GetSessionToken): the user's name.
    pub user_name: Option<String>,
    /// Lifetime.
    pub duration: Duration,
    /// Inline session policy text.
    pub session_policy: Option<String>,
    /// Managed session policy ARNs.
    pub session_policy_arns: Vec<String>,
    /// Source identity.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Vec<Tag>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
    /// `PackedPolicySize` (percent of the allowed size).
    pub packed_policy_size: Option<u32>,
    /// The access key that asked (for role chaining records).
    pub parent_access_key_id: Option<String>,
    /// When MFA was verified for it (this request's code, or the calling session's MFA carried
    /// through role chaining); `None`: issued without MFA.
    pub mfa_authenticated_at: Option<std::time::SystemTime>,
}

/// The plan of a role session with its session policies and tags, within AWS's packed size.
/// Source identity, transitive tag keys and the parent key are left for the caller to set.
pub(crate) fn role_session_plan(
    role: &Role,
    session_name: &str,
    duration: Duration,
    (policy_text, policy_arns): (Option<&str>, &[&str]),
    tags: Vec<Tag>,
) -> Result<SessionPlan, StsError> {
    let packed = packed_policy_size(policy_text, policy_arns, &tags);
    if packed > 100 {
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed policy consumes {packed}% of allotted space, please use smaller policy."
        )));
    }
    // The role's own account (a directory may hold several).
    let account = Directory::account_of(&role.arn).to_owned();
    Ok(SessionPlan {
        arn: format!(
            "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
            role.name
        ),
        user_id: format!("{}:{session_name}", role.role_id),
        account,
        role: Some((role.arn.clone(), role.name.clone(), session_name.to_owned())),
        user_name: None,
        duration,
        session_policy: policy_text.map(str::to_owned),
        session_policy_arns: policy_arns.iter().map(|s| (*s).to_owned()).collect(),
        source_identity: None,
        tags,
        transitive_tag_keys: Vec::new(),
        packed_policy_size: Some(packed),
        parent_access_key_id: None,
        mfa_authenticated_at: None,
    })
}

/// AWS packs session policies and tags into the session token and reports their size as a
/// percentage of what fits. idbroker stores them server-side, but keeps AWS's limit so that
/// policies which work here also work with AWS: the inline policy with white space removed,
/// 64 bytes per managed policy ARN reference and the tags, against a 2048-byte budget.
pub(crate) fn packed_policy_size(policy: Option<&str>, arns: &[&str], tags: &[Tag]) -> u32 {
    let policy_bytes = policy.map_or(0, |p| p.chars().filter(|c| !c.is_whitespace()).count());
    let tag_bytes: usize = tags.iter().map(|t| t.key.len() + t.value.len() + 2).sum();
    let total = policy_bytes + arns.len() * 64 + tag_bytes;
    let pct = (total * 100).div_ceil(2048);
    u32::try_from(pct).unwrap_or(u32::MAX)
}
