//! What the use cases need from the server, lent for one call.

use idbroker_session::{SealingKeys, SessionStore};

use crate::directory::Directory;
use crate::federation::oidc::OidcFederation;
use crate::federation::saml::SamlSettings;
use crate::throttle::Throttle;

/// What the use cases read and write, borrowed from the server's state for one call
/// (`AppState::sts`).
#[derive(Clone, Copy)]
pub struct Services<'a> {
    /// The IAM entities: users, roles, managed policies.
    pub directory: &'a Directory,
    /// Where sessions (and replay marks) live.
    pub store: &'a dyn SessionStore,
    /// Seal secret access keys at rest.
    pub keys: &'a SealingKeys,
    /// SAML providers and the SP's settings (with the signature-check threads).
    pub saml: &'a std::sync::Arc<SamlSettings>,
    /// OpenID Connect providers and their key caches.
    pub oidc: &'a OidcFederation,
    /// Rate limits (the provider's bucket is taken once its proof verified).
    pub throttle: Throttle<'a>,
}

impl std::fmt::Debug for Services<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}
