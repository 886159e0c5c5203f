//! Federation: proof from an identity provider, checked into a type only the validator builds.

pub mod oidc;
