//! The directory as data, as written: `[[users]]`, `[[groups]]`, `[[roles]]`,
//! `[[managed_policies]]` of a configuration file, the documents the database holds
//! (`crate::directory::store`) and what the IAM API edits (`crate::iam`). Validated by
//! [`super::Directory::build`]; serialized back by `idbroker directory export`.
//!
//! Fields that only the IAM API sets (creation times, tags, descriptions, policy versions) are
//! optional so that a hand-written file needs none of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::password::policy::PasswordPolicy;
use crate::settings::SecretRef;

/// The directory's parts of the raw configuration, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct DirectorySection<'a> {
    /// `[[managed_policies]]`
    pub managed_policies: &'a [RawManagedPolicy],
    /// `[[groups]]`
    pub groups: &'a [RawGroup],
    /// `[[users]]`
    pub users: &'a [RawUser],
    /// `[[roles]]`
    pub roles: &'a [RawRole],
}

/// A whole directory as data: one account and its entities. What `idbroker directory
/// import/export/diff/apply` read and write (TOML) and the database stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDoc {
    /// The twelve-digit account id.
    pub account_id: String,
    /// The account alias (`iam:CreateAccountAlias`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_alias: Option<String>,
    /// `[[managed_policies]]`
    #[serde(default)]
    pub managed_policies: Vec<RawManagedPolicy>,
    /// `[[groups]]`
    #[serde(default)]
    pub groups: Vec<RawGroup>,
    /// `[[users]]`
    #[serde(default)]
    pub users: Vec<RawUser>,
    /// `[[roles]]`
    #[serde(default)]
    pub roles: Vec<RawRole>,
    /// `[[saml_metadata]]`: SAML identity providers given by their metadata document (IAM's
    /// CreateSAMLProvider); `[[saml_providers]]` of a configuration file are its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saml_metadata: Vec<RawSamlMetadata>,
    /// `[[openid_connect_providers]]`: OpenID Connect providers as IAM's
    /// CreateOpenIDConnectProvider makes them (issuer URL, client IDs); `[[oidc_providers]]` of a
    /// configuration file are its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub openid_connect_providers: Vec<RawOpenIdConnectProvider>,
    /// `[[mfa_devices]]`: virtual MFA devices (IAM's CreateVirtualMFADevice), with the user each
    /// is enabled for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mfa_devices: Vec<RawMfaDevice>,
    /// `[password_policy]`: the account password policy (IAM's UpdateAccountPasswordPolicy);
    /// none: AWS's default rules for new passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
    /// `[[accounts]]`: other accounts of the directory, each with its own entities (listed at
    /// the top level only; their own `accounts` stay empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<DirectoryDoc>,
}

impl DirectoryDoc {
    /// The account `account_id`: this one or one of `accounts`.
    pub fn account(&self, account_id: &str) -> Option<&DirectoryDoc> {
        if self.account_id == account_id {
            return Some(self);
        }
        self.accounts.iter().find(|a| a.account_id == account_id)
    }

    /// The account `account_id`, to edit.
    pub fn account_mut(&mut self, account_id: &str) -> Option<&mut DirectoryDoc> {
        if self.account_id == account_id {
            return Some(self);
        }
        self.accounts
            .iter_mut()
            .find(|a| a.account_id == account_id)
    }

    /// This account and the others.
    pub fn all_accounts(&self) -> impl Iterator<Item = &DirectoryDoc> {
        std::iter::once(self).chain(self.accounts.iter())
    }

    /// Its entities, borrowed as [`super::Directory::build`] reads them.
    pub fn section(&self) -> DirectorySection<'_> {
        DirectorySection {
            managed_policies: &self.managed_policies,
            groups: &self.groups,
            users: &self.users,
            roles: &self.roles,
        }
    }
}

/// `[[saml_metadata]]`: a SAML provider `arn:aws:iam::ACCOUNT:saml-provider/NAME` and its
/// metadata document (EntityDescriptor with an IDPSSODescriptor and signing certificates).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSamlMetadata {
    /// Provider name (1..128 of `[A-Za-z0-9_.-]`).
    pub name: String,
    /// The metadata XML.
    pub metadata: String,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// `[[openid_connect_providers]]`: `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`, trusted for
/// tokens whose `iss` is `url` and whose audience is one of `client_ids`; its keys are found by
/// OpenID discovery at the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawOpenIdConnectProvider {
    /// The issuer URL (`https://...`).
    pub url: String,
    /// The audiences accepted (1..100).
    pub client_ids: Vec<String>,
    /// Certificate thumbprints as IAM records them (40 hex digits, at most 5): kept, not used
    /// (idbroker checks the issuer's TLS certificate against the system's roots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbprints: Vec<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

/// `[[mfa_devices]]`: a virtual MFA device, whose serial number is its ARN
/// `arn:aws:iam::ACCOUNT:mfa/PATH+NAME` (`mfa` + path + name).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMfaDevice {
    /// Device name (1..226 of `[\w+=,.@-]`).
    pub name: String,
    /// IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// The TOTP seed, sealed with the `[sealing]` keys and bound to the serial number
    /// (`sealed = "KEY_ID:NONCE:CIPHERTEXT"`): never in clear.
    pub seed: SecretRef,
    /// The user it is enabled for (EnableMFADevice); none: unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When it was enabled for that user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
    /// How many 30-second steps the device's clock is ahead of the server's (behind: negative),
    /// as EnableMFADevice and ResyncMFADevice measured it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drift: i64,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

impl RawMfaDevice {
    /// Its serial number (and ARN) in `account`.
    pub fn serial(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:mfa{}{}", self.path, self.name)
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Tags: key -> value (at most 50 per entity).
pub type Tags = BTreeMap<String, String>;

/// `[[users]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// User name.
    pub name: String,
    /// IAM path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Inline policies: name -> JSON document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Permissions boundary (managed policy ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Long-term access keys (at most 2).
    #[serde(default)]
    pub access_keys: Vec<RawAccessKey>,
    /// `[users.login_profile]`: the console password (CreateLoginProfile); none: the user
    /// cannot sign in to the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_profile: Option<RawLoginProfile>,
    /// When it was created (`2026-12-06T15:04:05Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

impl RawUser {
    /// Its ARN in `account`: `arn:aws:iam::ACCOUNT:user` + path + name.
    pub fn arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:user{}{}", self.path, self.name)
    }

    /// When the user was created, seconds since the epoch (none: a file's user, or no time).
    pub fn created_at(&self) -> Option<u64> {
        self.created.as_deref().and_then(epoch_of)
    }
}

/// `[users.login_profile]`: a user's console password, only ever as an argon2id hash.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoginProfile {
    /// The password's argon2id PHC string (`$argon2id$v=19$m=...`; a password in clear is
    /// refused: [`crate::password::is_hash`]).
    pub password_hash: String,
    /// The user must choose a new password at their next sign-in.
    #[serde(default)]
    pub password_reset_required: bool,
    /// When the login profile was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the password was last set (the policy's MaxPasswordAge counts from it; none: from
    /// `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed: Option<String>,
    /// Hashes of earlier passwords, newest first, as many as the policy's
    /// PasswordReusePrevention asks to remember (at most 24).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_hashes: Vec<String>,
}

impl RawLoginProfile {
    /// When the password was set, seconds since the epoch (`password_changed`, else `created`;
    /// neither readable: the epoch, so that a policy's MaxPasswordAge finds it expired).
    pub fn set_at(&self) -> u64 {
        self.password_changed
            .as_deref()
            .or(self.created.as_deref())
            .and_then(epoch_of)
            .unwrap_or(0)
    }
}

/// Seconds since the epoch of an RFC 3339 time as the directory writes them
/// (`2026-12-06T15:04:05Z`); none for anything else.
fn epoch_of(t: &str) -> Option<u64> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
}

impl std::fmt::Debug for RawLoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawLoginProfile")
            .field("password_reset_required", &self.password_reset_required)
            .field("created", &self.created)
            .field("password_changed", &self.password_changed)
            .finish_non_exhaustive()
    }
}

/// `[[users.access_keys]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKey {
    /// `AKIA...`
    pub id: String,
    /// The secret access key.
    pub secret: SecretRef,
    /// `Active` (default) or `Inactive`.
    #[serde(default = "default_active")]
    pub status: String,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

fn default_active() -> String {
    "Active".into()
}
fn default_path() -> String {
    "/".into()
}

/// `[[groups]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// Group name.
    pub name: String,
    /// IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Inline policies.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// `[[roles]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// Role name.
    pub name: String,
    /// IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// What the role is for (shown in the role picker).
    #[serde(default)]
    pub description: String,
    /// The trust policy (JSON document).
    pub trust_policy: String,
    /// Attached managed policy ARNs.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Inline policies.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Permissions boundary (managed policy ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Longest session, seconds (3600..43200, default 3600).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u32,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

fn default_max_session() -> u32 {
    3600
}

/// `[[managed_policies]]`: the default version's document, and the other versions kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawManagedPolicy {
    /// Policy name.
    pub name: String,
    /// IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// The JSON document (the default version's).
    pub document: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The default version's id (`v1` unless the IAM API made others).
    #[serde(default = "default_version_id")]
    pub default_version: String,
    /// The versions that are not the default (at most 4): id -> document.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_versions: BTreeMap<String, String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
}

fn default_version_id() -> String {
    "v1".into()
}
