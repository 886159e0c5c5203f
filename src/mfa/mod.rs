//! Virtual MFA devices, the pure part: time-based one-time passwords ([`totp`], RFC 6238 with
//! AWS's parameters: HMAC-SHA-1, 6 digits, 30-second steps) and what a new device is handed
//! ([`provision`]: a random seed, its Base32 text, the `otpauth://` URI and its QR code PNG).
//! No IO and no clock: the callers give the time. The IAM calls that manage devices are
//! `crate::iam`'s (`mfa` family); verifying a code in STS, with its single-use mark in the
//! session store, is `crate::sts::mfa`'s.

pub mod provision;
pub mod totp;

pub use provision::{NewDevice, ProvisionError};
pub use totp::{Code, CodeError};
