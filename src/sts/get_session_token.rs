//! GetSessionToken: an IAM user's long-term key gets temporary credentials of the same user,
//! authenticated with MFA when the request carries a device's code (`SerialNumber`,
//! `TokenCode`). Without one the call still succeeds, and the session simply has no MFA (as
//! AWS: whatever the user's policies require is decided when the session is used).

use std::time::{Duration, SystemTime};

use crate::sts::mfa::{self, MfaCode};
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::{Caller, CallerKind, Services, SessionPlan, StsError};

/// GetSessionToken's parameters, checked ([`crate::sts::constraints`]).
#[derive(Debug, Clone, Default)]
pub struct GetSessionTokenRequest<'a> {
    /// `DurationSeconds`: 900..=129600; 43200 when absent.
    pub duration: Option<u32>,
    /// `SerialNumber` and `TokenCode`, when given (both or neither).
    pub mfa: Option<MfaCode<'a>>,
}

/// GetSessionToken's limits on `DurationSeconds`: AWS's.
pub const DURATION_RANGE: (u32, u32) = (900, 129_600);

/// Decide: only a long-term user key may ask (AWS: "Cannot call GetSessionToken with session
/// credentials").
pub fn decide(caller: &Caller, req: &GetSessionTokenRequest<'_>) -> Result<SessionPlan, StsError> {
    let CallerKind::User { name } = &caller.kind else {
        return Err(StsError::AccessDenied(
            "Cannot call GetSessionToken with session credentials".into(),
        ));
    };
    let duration = req.duration.unwrap_or(43_200);
    Ok(SessionPlan {
        arn: caller.arn.clone(),
        user_id: caller.user_id.clone(),
        account: caller.account.clone(),
        role: None,
        user_name: Some(name.clone()),
        duration: Duration::from_secs(u64::from(duration)),
        session_policy: None,
        session_policy_arns: Vec::new(),
        source_identity: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        packed_policy_size: None,
        parent_access_key_id: None,
        mfa_authenticated_at: None,
    })
}

/// GetSessionToken for a verified caller: decide, verify the MFA code if there is one, mint,
/// store.
pub async fn get_session_token(
    sts: &Services<'_>,
    caller: &Caller,
    req: &GetSessionTokenRequest<'_>,
    now: SystemTime,
) -> Result<IssuedSession, StsError> {
    let mut plan = decide(caller, req)?;
    if let Some(code) = &req.mfa {
        plan.mfa_authenticated_at = Some(mfa::verify(sts, caller, code, now).await?.at());
    }
    mint(sts, plan, now).await
}
