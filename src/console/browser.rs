//! What the browser holds between steps, sealed ([`crate::console::seal`]): the role options
//! of a pending sign-in, the signed-in console session (which names the session but never
//! holds its secret), and the federation endpoint's sign-in token.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::sts::{SessionPlan, StsError, Tag};

/// How long the role picker waits for a choice.
pub const PICK_TTL: u64 = 300;
/// How long an OIDC login or SP-initiated SAML request may take at the IdP.
pub const LOGIN_TTL: u64 = 600;
/// A federation sign-in token's life (AWS: the sign-in URL is valid for 15 minutes).
pub const SIGNIN_TOKEN_TTL: u64 = 900;

/// One role a person may take, already allowed by its trust policy when the options were made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoleOption {
    /// Role ARN.
    pub role: String,
    /// Session name.
    pub name: String,
    /// Session length, seconds.
    pub secs: u64,
    /// Source identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub si: Option<String>,
    /// Session tags (key, value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// Transitive tag keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tt: Vec<String>,
}

impl RoleOption {
    pub(crate) fn from_plan(plan: &SessionPlan) -> Option<RoleOption> {
        let (role, _, name) = plan.role.clone()?;
        Some(RoleOption {
            role,
            name,
            secs: plan.duration.as_secs(),
            si: plan.source_identity.clone(),
            tags: plan
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            tt: plan.transitive_tag_keys.clone(),
        })
    }

    /// The session to mint for this option. The trust decision was taken when the option was
    /// made; this only rebuilds the session's fields (and fails if the role is gone).
    pub fn plan(&self, dir: &Directory) -> Result<SessionPlan, StsError> {
        let role = dir.role(&self.role).ok_or_else(|| {
            StsError::AccessDenied(format!("The role {} no longer exists", self.role))
        })?;
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let mut plan = crate::sts::plan::role_session_plan(
            role,
            &self.name,
            Duration::from_secs(self.secs),
            (None, &[]),
            tags,
        )?;
        plan.source_identity = self.si.clone();
        plan.transitive_tag_keys = self.tt.clone();
        Ok(plan)
    }
}

/// Who signed in, for the pages and the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignedInVia {
    /// The provider's ARN.
    pub provider: String,
    /// The subject it vouched for.
    pub subject: String,
}

/// A sign-in waiting for the person to pick a role (cookie `idb_pick`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignin {
    /// Also the CSRF token of the picker form.
    pub id: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// The identity.
    pub via: SignedInVia,
    /// Where to go after sign-in (an allowed destination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The roles allowed.
    pub options: Vec<RoleOption>,
}

/// A signed-in browser (cookie `idb_console`): names the session, never holds its secret.
#[derive(Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The session's AccessKeyId.
    pub akid: String,
    /// Its session token (checked against the stored hash on every page).
    pub token: String,
    /// When the console session ends, epoch seconds (never after the credentials').
    pub exp: u64,
    /// CSRF token of the console's forms.
    pub csrf: String,
    /// Federation login: where the person came from (`Issuer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("akid", &self.akid)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// A federation sign-in token's content (sealed; single use by `id`).
#[derive(Serialize, Deserialize)]
pub struct SigninToken {
    /// Single-use id.
    pub id: String,
    /// Issued at, epoch seconds.
    pub iat: u64,
    /// The session's AccessKeyId.
    pub akid: String,
    /// Its session token.
    pub token: String,
    /// When the console session must end, epoch seconds.
    pub exp: u64,
}

impl std::fmt::Debug for SigninToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigninToken")
            .field("akid", &self.akid)
            .field("iat", &self.iat)
            .finish_non_exhaustive()
    }
}
