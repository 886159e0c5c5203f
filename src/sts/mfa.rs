//! MFA in STS: GetSessionToken's and AssumeRole's `SerialNumber` and `TokenCode`. The device
//! must be a virtual MFA device of the directory enabled for the calling IAM user (its long-term
//! key, or its own GetSessionToken session); the code must be the device's for a step within
//! ±[`SKEW`] of the device's own (now plus its recorded drift), and not used before: each step of
//! a device is accepted once, on every replica (the session store's `use_once`, namespace `mfa`,
//! shared with EnableMFADevice and ResyncMFADevice). Only [`verify`] makes a [`VerifiedMfa`].
//!
//! AWS's answers: `AccessDenied` "MultiFactorAuthentication failed with invalid MFA one time
//! pass code. " for a wrong, expired or reused code, and "MultiFactorAuthentication failed,
//! unable to validate MFA code.  Please verify your MFA serial number is valid and associated
//! with this user." for a serial number that names no device of the caller (or a caller that is
//! no IAM user).

use std::time::SystemTime;

use idbroker_session::SessionError;
use tracing::instrument;

use crate::mfa::totp::{self, Code, SKEW};
use crate::sts::{Caller, CallerKind, Services, StsError};

/// AWS's message for a code that is wrong, outside the window, or used already.
pub const INVALID_CODE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
/// AWS's message for a serial number that names no MFA device of the caller.
pub const UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";

/// `SerialNumber` and `TokenCode` as the request gave them (shapes checked, nothing verified).
#[derive(Clone)]
pub struct MfaCode<'a> {
    /// The device's serial number (its ARN).
    pub serial: &'a str,
    /// The code.
    pub code: Code,
}

impl std::fmt::Debug for MfaCode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaCode")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// A code that verified: who may say that the new session was authenticated with MFA, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMfa {
    serial: String,
    at: SystemTime,
}

impl VerifiedMfa {
    /// The device's serial number.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// When the code was verified.
    pub fn at(&self) -> SystemTime {
        self.at
    }
}

/// Verify `mfa` for `caller` at `now`: the device, the code, and its single use.
#[instrument(level = "debug", name = "sts.mfa", skip_all)]
pub async fn verify(
    sts: &Services<'_>,
    caller: &Caller,
    mfa: &MfaCode<'_>,
    now: SystemTime,
) -> Result<VerifiedMfa, StsError> {
    let denied = |m: &str| StsError::AccessDenied(m.to_owned());
    let is_user = matches!(
        caller.kind,
        CallerKind::User { .. } | CallerKind::UserSession { .. }
    );
    let device = sts
        .directory
        .mfa_device(mfa.serial)
        .filter(|d| is_user && d.user_arn.as_deref() == Some(caller.arn.as_str()))
        .ok_or_else(|| denied(UNKNOWN_DEVICE))?;
    let seed = crate::directory::sealed::open_seed(sts.keys, &device.serial, &device.sealed_seed)
        .map_err(|e| {
            tracing::error!(serial = %device.serial, error = %e, "an MFA device's seed could not be opened");
            StsError::Internal
        })?;
    let center = totp::step(now).saturating_add(device.drift);
    let step = totp::find(&seed, &mfa.code, center, SKEW).ok_or_else(|| denied(INVALID_CODE))?;
    drop(seed);
    let mark = totp::mark(&device.serial, step);
    match sts
        .store
        .use_once(
            "mfa",
            &mark,
            totp::mark_until(step),
            crate::clock::epoch(now),
        )
        .await
    {
        Ok(()) => Ok(VerifiedMfa {
            serial: device.serial.clone(),
            at: now,
        }),
        Err(SessionError::Replay | SessionError::Expired) => Err(denied(INVALID_CODE)),
        Err(_) => Err(StsError::Unavailable),
    }
}
