//! DEVELOPMENT ONLY: an interactive identity provider served by idbroker itself under
//! `/dev/idp/` when `[dev_idp] enabled = true`, so that a newcomer can sign in to the demo's
//! console from a browser, as one of the configured people, without running an IdP. It answers
//! for the demo providers only and signs with the demo keys compiled into the binary
//! (`keys.rs`: public development keys from `certs/demo`), and the configuration is refused
//! unless everything around it is the demo's (`config.rs`: loopback listen addresses and public
//! URL, the demo certificate and JWKS, the demo sealing and console keys).
//!
//! Below HTTP (the handlers are `crate::http::dev_idp`): `config.rs` the `[dev_idp]` section,
//! its people and the safety checks; `saml.rs` SP-initiated SAML (the AuthnRequest read from the
//! HTTP-Redirect binding, bounded; the response signed as `federation::saml::dev` signs the
//! CLI's); `oidc.rs` the authorization code flow with PKCE (discovery, authorize, sealed
//! single-use codes, the token endpoint, ID tokens); `error.rs` their errors; `keys.rs` the
//! demo key material.

pub mod config;
pub mod error;
pub mod keys;
pub mod oidc;
pub mod saml;

pub use config::{
    build, check_listen, dev_issuer, DevIdp, OidcSide, Person, RawDevIdp, RawPerson, SamlSide,
    Surroundings,
};
pub use error::{DevIdpError, TokenError};
pub use oidc::{AuthorizeParams, TokenAnswer, TokenRequest};
pub use saml::{parse_authn_request, AuthnRequest, SignedResponse};
