//! Throttling: token buckets (GCRA) per caller principal for signed calls, and per identity
//! provider and per source address for unsigned ones, for each action, kept in the session
//! store so that every replica draws from the same buckets (`idbroker_session::RateBucket`).
//!
//! Where each bucket is taken, and why there:
//! - **source address** (`http`): an unsigned call (AssumeRoleWithSAML, AssumeRoleWithWebIdentity,
//!   `/workload/credentials`, the console's sign-in and federation `login`) before anything
//!   reads its proof, so that one address cannot spend the server's signature checks;
//! - **principal** (`http`): a signed call right after its signature verified (never before:
//!   an unsigned request naming someone else's key must not spend their bucket). All sessions
//!   of a role share the role's bucket, so that chained sessions cannot multiply buckets;
//! - **provider** (`sts` use cases): after the provider's proof verified and before anything is
//!   stored, so that only the provider's genuine users spend its bucket.
//!
//! Over the limit the call is answered as AWS does (`Throttling`, "Rate exceeded", HTTP 400),
//! which the SDKs' and the CLI's retry modes back off from, and counted in
//! `idbroker_throttled_calls_total`.

mod admit;
mod settings;

pub use admit::{Key, Throttle, ThrottleError};
pub use settings::{
    throttle_settings, BucketKind, Limits, RawLimit, RawLimits, RawThrottle, ThrottleSettings,
    ACTIONS, PASSWORD_SIGNIN,
};
