//! Errors of this crate.

/// A policy document that IAM would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is malformed. The message is the one AWS returns with a
    /// `MalformedPolicyDocument` error for the same document, so it can be shown to clients as is.
    #[error("{0}")]
    Malformed(String),
}

impl PolicyError {
    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        PolicyError::Malformed(msg.into())
    }

    /// The AWS `MalformedPolicyDocument` message.
    pub fn message(&self) -> &str {
        match self {
            PolicyError::Malformed(m) => m,
        }
    }
}

pub(crate) const SYNTAX: &str = "Syntax errors in policy.";
pub(crate) const VERSION: &str = "Policy document must be version 2012-10-17 or greater.";
pub(crate) const LEGACY: &str = "The policy failed legacy parsing";
pub(crate) const SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";
pub(crate) const NEED_ACTIONS: &str = "Policy statement must contain actions.";
pub(crate) const NEED_RESOURCES: &str = "Policy statement must contain resources.";
pub(crate) const NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
pub(crate) const NEED_PRINCIPAL: &str = "Missing required field Principal";
pub(crate) const NO_RESOURCE_ALLOWED: &str = "Has prohibited field Resource";
pub(crate) const ACTION_VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
pub(crate) const ACTION_COLON: &str = "Actions/Condition can contain only one colon.";
pub(crate) const RESOURCE_VENDOR: &str =
    "Resource vendor must be fully qualified and cannot contain regexes.";
pub(crate) const IAM_PATH: &str = "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.";
pub(crate) const IAM_PATH_PREFIXES: [&str; 13] = [
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];
