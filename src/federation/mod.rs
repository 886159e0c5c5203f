//! Identity federation: proof from an outside identity provider, checked, becomes a typed
//! value that only the checker can build: `saml` -> [`saml::VerifiedAssertion`], `oidc` ->
//! [`oidc::VerifiedIdToken`].

pub mod fetch;
pub mod oidc;
pub mod saml;
