//! What the admin calls share about access: the SigV4 service they are signed for, how a request
//! names its resource, and the decision by the caller's own policies.

use crate::directory::Directory;
use crate::sts::{self, Caller, RequestFacts, StsError};

use super::AdminError;

/// The SigV4 service name admin calls are signed for (`POST /admin/revoke`,
/// `POST /admin/sessions`).
pub const SERVICE: &str = "idbroker";

/// `value`, the ARN a request field (`RoleArn`, `PrincipalArn`) names: it must look like an ARN
/// and be at most 2048 characters.
pub(super) fn checked_arn(field: &str, value: String) -> Result<String, StsError> {
    if value.starts_with("arn:") && value.len() <= 2048 {
        Ok(value)
    } else {
        Err(StsError::Validation(format!(
            "{field} must be an ARN of at most 2048 characters"
        )))
    }
}

/// The resource a source identity stands for in policies,
/// `arn:aws:idbroker::ACCOUNT:source-identity/VALUE`, once `value` is a valid source identity.
pub(super) fn source_identity_resource(dir: &Directory, value: &str) -> Result<String, StsError> {
    sts::constraints::check_session_name("SourceIdentity", value)?;
    Ok(format!(
        "arn:aws:idbroker::{}:source-identity/{value}",
        dir.account_id
    ))
}

/// May `caller` perform `action` on `resource`? The same decision as every other
/// `idbroker:*` action ([`sts::authorize`]).
pub(super) fn authorize(
    dir: &Directory,
    caller: &Caller,
    action: &str,
    resource: &str,
    facts: &RequestFacts<'_>,
) -> Result<(), AdminError> {
    Ok(sts::authorize(dir, caller, action, resource, facts)?)
}
