//! The directory's section of the configuration, as written: `[[users]]`, `[[groups]]`,
//! `[[roles]]`, `[[managed_policies]]`. Validated by [`super::Directory::build`].

use std::collections::BTreeMap;

use serde::Deserialize;

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

/// `[[users]]`
#[derive(Debug, Deserialize)]
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
    pub permissions_boundary: Option<String>,
    /// Long-term access keys (at most 2).
    #[serde(default)]
    pub access_keys: Vec<RawAccessKey>,
}

/// `[[users.access_keys]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKey {
    /// `AKIA...`
    pub id: String,
    /// The secret access key.
    pub secret: SecretRef,
    /// `Active` (default) or `Inactive`.
    #[serde(default = "default_active")]
    pub status: String,
}

fn default_active() -> String {
    "Active".into()
}
fn default_path() -> String {
    "/".into()
}

/// `[[groups]]`
#[derive(Debug, Deserialize)]
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
}

/// `[[roles]]`
#[derive(Debug, Deserialize)]
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
    pub permissions_boundary: Option<String>,
    /// Longest session, seconds (3600..43200, default 3600).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u32,
}

fn default_max_session() -> u32 {
    3600
}

/// `[[managed_policies]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManagedPolicy {
    /// Policy name.
    pub name: String,
    /// IAM path.
    #[serde(default = "default_path")]
    pub path: String,
    /// The JSON document.
    pub document: String,
}
