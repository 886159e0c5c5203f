//! The IAM entities idbroker knows, from the configuration: one account, its users (with groups
//! and long-term access keys), roles (trust policy, permission policies, boundary, maximum
//! session) and managed policies. Every policy is validated with IAM's rules when the
//! configuration loads; lookups are by ARN or access key id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use idbroker_policy::{Policy, PolicyKind};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::settings::{ConfigError, SecretRef};

pub mod live;
pub mod plan;
mod raw;
pub mod sealed;
pub mod store;
pub use raw::{
    DirectoryDoc, DirectorySection, RawAccessKey, RawGroup, RawLoginProfile, RawManagedPolicy,
    RawMfaDevice, RawOpenIdConnectProvider, RawRole, RawSamlMetadata, RawUser, Tags,
};

/// A directory that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A key holds something invalid.
    #[error("{key}: {problem}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// A secret could not be read.
    #[error(transparent)]
    Secret(ConfigError),
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Reads an access key's secret reference: (the reference, the configuration key that names it
/// in errors, the access key id it belongs to).
pub type SecretReader<'a> =
    dyn FnMut(&SecretRef, &str, &str) -> Result<Zeroizing<String>, ConfigError> + 'a;

/// A long-term access key of a user.
#[derive(Clone)]
pub struct AccessKey {
    /// `AKIA...`
    pub id: String,
    /// The secret access key.
    pub secret: Zeroizing<String>,
    /// Inactive keys authenticate nothing.
    pub active: bool,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("active", &self.active)
            .finish()
    }
}

/// An IAM user.
#[derive(Debug, Clone)]
pub struct User {
    /// Name.
    pub name: String,
    /// Its account.
    pub account: String,
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME`
    pub arn: String,
    /// `AIDA...`: stable, derived from the account and the ARN.
    pub user_id: String,
    /// Identity policies: its own, then its groups'.
    pub policies: Vec<Arc<Policy>>,
    /// Permissions boundary.
    pub permissions_boundary: Option<Arc<Policy>>,
    /// Access keys (at most 2).
    pub access_keys: Vec<AccessKey>,
}

/// An IAM role.
#[derive(Debug, Clone)]
pub struct Role {
    /// Name.
    pub name: String,
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`
    pub arn: String,
    /// `AROA...`: stable, derived from the account and the ARN.
    pub role_id: String,
    /// What it is for.
    pub description: String,
    /// Who may assume it.
    pub trust_policy: Arc<Policy>,
    /// What its sessions may do.
    pub policies: Vec<Arc<Policy>>,
    /// Permissions boundary.
    pub permissions_boundary: Option<Arc<Policy>>,
    /// Longest session, seconds.
    pub max_session_duration: u32,
}

/// A virtual MFA device, as STS checks its codes.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaDevice {
    /// Its serial number (its ARN).
    pub serial: String,
    /// The ARN of the user it is enabled for; `None`: unassigned (it authenticates no one).
    pub user_arn: Option<String>,
    /// The seed, sealed (`KEY_ID:NONCE:CIPHERTEXT`, bound to the serial number): opened only to
    /// check a code (`crate::sts::mfa`).
    pub sealed_seed: String,
    /// Steps its clock is ahead of the server's (behind: negative).
    pub drift: i64,
}

impl std::fmt::Debug for MfaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaDevice")
            .field("serial", &self.serial)
            .field("user_arn", &self.user_arn)
            .field("drift", &self.drift)
            .finish_non_exhaustive()
    }
}

/// Most MFA devices enabled for one user (IAM's quota).
pub const MFA_DEVICES_PER_USER: usize = 8;

/// All entities of the account.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The twelve-digit account id.
    pub account_id: String,
    users: Vec<User>,
    roles: HashMap<String, Role>,
    managed: HashMap<String, Arc<Policy>>,
    /// Access key id -> (user index, key index).
    keys: HashMap<String, (usize, usize)>,
    /// Virtual MFA devices by serial number.
    mfa: HashMap<String, MfaDevice>,
    /// See [`Directory::version`].
    version: String,
    /// The same policies for verification (see [`Directory::policies`]).
    policies: Arc<idbroker_verify::PolicyDirectory>,
    /// The data it was built from (see [`Directory::doc`]).
    doc: Arc<DirectoryDoc>,
    /// The database's version it was loaded from (0: not from a database).
    store_version: i64,
}

/// The entities of every account, gathered by [`Directory::add_account`].
#[derive(Default)]
struct Parts {
    users: Vec<User>,
    roles: HashMap<String, Role>,
    managed: HashMap<String, Arc<Policy>>,
    keys: HashMap<String, (usize, usize)>,
    mfa: HashMap<String, MfaDevice>,
}

/// A principal's ARN, identity policies and permissions boundary.
type PrincipalPolicies<'a> = (&'a str, &'a [Arc<Policy>], &'a Option<Arc<Policy>>);

/// A hash over every principal's policies (id and document, in order) and boundary, and every
/// managed policy, in a stable order.
fn policy_version(
    account: &str,
    users: &[User],
    roles: &HashMap<String, Role>,
    managed: &HashMap<String, Arc<Policy>>,
) -> String {
    let mut h = Sha256::new();
    let mut add = |part: &str| {
        h.update(part.len().to_be_bytes());
        h.update(part.as_bytes());
    };
    add(account);
    let mut principals: Vec<PrincipalPolicies<'_>> = users
        .iter()
        .map(|u| {
            (
                u.arn.as_str(),
                u.policies.as_slice(),
                &u.permissions_boundary,
            )
        })
        .chain(roles.values().map(|r| {
            (
                r.arn.as_str(),
                r.policies.as_slice(),
                &r.permissions_boundary,
            )
        }))
        .collect();
    principals.sort_by_key(|(arn, _, _)| *arn);
    for (arn, policies, boundary) in principals {
        add(arn);
        if let Some(user) = users.iter().find(|u| u.arn == arn) {
            for k in &user.access_keys {
                add(&k.id);
                add(if k.active { "active" } else { "inactive" });
                add(&data_encoding::HEXLOWER.encode(&Sha256::digest(k.secret.as_bytes())));
            }
        }
        for p in policies {
            add(p.id());
            add(p.document());
        }
        add("boundary");
        if let Some(b) = boundary {
            add(b.id());
            add(b.document());
        }
    }
    let mut arns: Vec<&String> = managed.keys().collect();
    arns.sort();
    for arn in arns {
        add(arn);
        if let Some(p) = managed.get(arn) {
            add(p.document());
        }
    }
    data_encoding::HEXLOWER.encode(&h.finalize())
}

/// A stable unique id in AWS's shape: prefix + 16 upper-case base32 characters of a hash.
pub(crate) fn unique_id(prefix: &str, account: &str, arn: &str) -> String {
    let digest = Sha256::digest(format!("{account}\0{arn}").as_bytes());
    let b32 = data_encoding::BASE32_NOPAD.encode(&digest);
    format!("{prefix}{}", b32.get(..16).unwrap_or_default())
}

/// A managed policy's versions: ids `vN`, the default not among the others, at most 5 in all,
/// each a valid identity policy.
fn check_versions(m: &RawManagedPolicy, key: &str) -> Result<(), DirectoryError> {
    let version_id = |v: &str| {
        v.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if !version_id(&m.default_version) {
        return Err(invalid(
            format!("{key}.default_version"),
            "a version id is v1, v2, ...",
        ));
    }
    if m.other_versions.len() > 4 {
        return Err(invalid(
            format!("{key}.other_versions"),
            "a managed policy has at most 5 versions",
        ));
    }
    for (id, document) in &m.other_versions {
        if !version_id(id) || *id == m.default_version {
            return Err(invalid(
                format!("{key}.other_versions.{id}"),
                "a version id is v1, v2, ..., not the default's",
            ));
        }
        Policy::parse(document, PolicyKind::Identity).map_err(|e| {
            invalid(
                format!("{key}.other_versions.{id}"),
                format!("MalformedPolicyDocument: {e}"),
            )
        })?;
    }
    Ok(())
}

/// At most 50 tags, keys 1..128 and values 0..256 characters.
fn check_tags(tags: &Tags, key: &str) -> Result<(), DirectoryError> {
    if tags.len() > 50 {
        return Err(invalid(format!("{key}.tags"), "at most 50 tags"));
    }
    for (k, v) in tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(invalid(
                format!("{key}.tags.{k}"),
                "a tag key is 1..128 characters, its value at most 256",
            ));
        }
    }
    Ok(())
}

pub(crate) fn valid_name(name: &str) -> bool {
    valid_name_up_to(name, 64)
}

/// A name of 1..=`max` of `[A-Za-z0-9+=,.@_-]` (users and roles: 64; groups and managed
/// policies: 128, as IAM allows).
pub(crate) fn valid_name_up_to(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

pub(crate) fn valid_path(path: &str) -> bool {
    path.starts_with('/') && path.ends_with('/') && path.len() <= 512
}

impl Directory {
    /// Build and validate from the directory as data (a configuration file's, the database's,
    /// or one the IAM API edited): its account, then each of `doc.accounts` (ids unique, not
    /// nested; access key ids unique across all). `secret` reads an access key's secret.
    pub fn build(
        doc: &DirectoryDoc,
        secret: &mut SecretReader<'_>,
    ) -> Result<Directory, DirectoryError> {
        let mut parts = Parts::default();
        Self::add_account(doc, secret, &mut parts)?;
        let mut seen = HashSet::from([doc.account_id.as_str()]);
        for (i, sub) in doc.accounts.iter().enumerate() {
            let prefix = format!("accounts[{i}]");
            if !sub.accounts.is_empty() {
                return Err(invalid(
                    format!("{prefix}.accounts"),
                    "accounts are listed at the top level only",
                ));
            }
            if !seen.insert(sub.account_id.as_str()) {
                return Err(invalid(
                    format!("{prefix}.account_id"),
                    format!("account {} is defined twice", sub.account_id),
                ));
            }
            Self::add_account(sub, secret, &mut parts).map_err(|e| match e {
                DirectoryError::Invalid { key, problem } => DirectoryError::Invalid {
                    key: format!("{prefix}.{key}"),
                    problem,
                },
                other => other,
            })?;
        }
        let Parts {
            users,
            roles,
            managed,
            keys,
            mfa,
        } = parts;
        let mut accounts: Vec<&str> = seen.into_iter().collect();
        accounts.sort_unstable();
        let version = policy_version(&accounts.join(","), &users, &roles, &managed);
        let mut directory = Directory {
            account_id: doc.account_id.clone(),
            users,
            roles,
            managed,
            keys,
            mfa,
            version,
            policies: Arc::default(),
            doc: Arc::new(doc.clone()),
            store_version: 0,
        };
        directory.policies = Arc::new(directory.policy_directory());
        Ok(directory)
    }

    /// Validate one account of `doc` and add its entities to `parts`.
    fn add_account(
        doc: &DirectoryDoc,
        secret: &mut SecretReader<'_>,
        parts: &mut Parts,
    ) -> Result<(), DirectoryError> {
        let raw = doc.section();
        let account_id = doc.account_id.as_str();
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("account_id", "must be twelve digits"));
        }
        if let Some(alias) = &doc.account_alias {
            let ok = (3..=63).contains(&alias.len())
                && alias
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !alias.starts_with('-')
                && !alias.ends_with('-');
            if !ok {
                return Err(invalid(
                    "account_alias",
                    "3..63 of [a-z0-9-], not starting or ending with -",
                ));
            }
        }
        if let Some(p) = &doc.password_policy {
            p.validate().map_err(|e| invalid("password_policy", e))?;
        }
        let acct = account_id;

        // Managed policies first: everything else refers to them by ARN.
        let mut managed = HashMap::new();
        for (i, m) in raw.managed_policies.iter().enumerate() {
            let key = format!("managed_policies[{i}]");
            if !valid_name_up_to(&m.name, 128) || !valid_path(&m.path) {
                return Err(invalid(
                    &key,
                    "name must be 1..128 of [A-Za-z0-9+=,.@_-], path /.../",
                ));
            }
            let arn = format!("arn:aws:iam::{acct}:policy{}{}", m.path, m.name);
            let p = Policy::parse(&m.document, PolicyKind::Identity)
                .map_err(|e| {
                    invalid(
                        format!("{key}.document"),
                        format!("MalformedPolicyDocument: {e}"),
                    )
                })?
                .with_id(arn.clone());
            check_versions(m, &key)?;
            check_tags(&m.tags, &key)?;
            if managed.insert(arn.clone(), Arc::new(p)).is_some() {
                return Err(invalid(key, format!("{arn} is defined twice")));
            }
        }
        let attached = |list: &[String], key: &str| -> Result<Vec<Arc<Policy>>, DirectoryError> {
            list.iter()
                .enumerate()
                .map(|(i, arn)| {
                    managed.get(arn).cloned().ok_or_else(|| {
                        invalid(format!("{key}[{i}]"), format!("no managed policy {arn}"))
                    })
                })
                .collect()
        };
        let inline = |map: &BTreeMap<String, String>,
                      owner: &str,
                      key: &str|
         -> Result<Vec<Arc<Policy>>, DirectoryError> {
            map.iter()
                .map(|(name, doc)| {
                    Policy::parse(doc, PolicyKind::Identity)
                        .map(|p| Arc::new(p.with_id(format!("{owner}/inline/{name}"))))
                        .map_err(|e| {
                            invalid(
                                format!("{key}.{name}"),
                                format!("MalformedPolicyDocument: {e}"),
                            )
                        })
                })
                .collect()
        };
        let boundary =
            |arn: &Option<String>, key: &str| -> Result<Option<Arc<Policy>>, DirectoryError> {
                arn.as_ref()
                    .map(|a| {
                        managed
                            .get(a)
                            .cloned()
                            .ok_or_else(|| invalid(key, format!("no managed policy {a}")))
                    })
                    .transpose()
            };

        let mut groups: HashMap<&str, Vec<Arc<Policy>>> = HashMap::new();
        for (i, g) in raw.groups.iter().enumerate() {
            let key = format!("groups[{i}]");
            if !valid_name_up_to(&g.name, 128) || !valid_path(&g.path) {
                return Err(invalid(&key, "invalid group name or path"));
            }
            let arn = format!("arn:aws:iam::{acct}:group{}{}", g.path, g.name);
            let mut policies = attached(&g.policies, &format!("{key}.policies"))?;
            policies.extend(inline(
                &g.inline_policies,
                &arn,
                &format!("{key}.inline_policies"),
            )?);
            if groups.insert(g.name.as_str(), policies).is_some() {
                return Err(invalid(key, format!("group {} is defined twice", g.name)));
            }
        }

        let users = &mut parts.users;
        let keys = &mut parts.keys;
        let offset = users.len();
        let mut names = HashSet::new();
        for (ui, u) in raw.users.iter().enumerate() {
            let key = format!("users[{ui}]");
            if !valid_name(&u.name) || !valid_path(&u.path) {
                return Err(invalid(&key, "invalid user name or path"));
            }
            if !names.insert(u.name.as_str()) {
                return Err(invalid(&key, format!("user {} is defined twice", u.name)));
            }
            let arn = u.arn(acct);
            let mut policies = attached(&u.policies, &format!("{key}.policies"))?;
            policies.extend(inline(
                &u.inline_policies,
                &arn,
                &format!("{key}.inline_policies"),
            )?);
            for (gi, g) in u.groups.iter().enumerate() {
                let gp = groups.get(g.as_str()).ok_or_else(|| {
                    invalid(format!("{key}.groups[{gi}]"), format!("no group {g}"))
                })?;
                policies.extend(gp.iter().cloned());
            }
            check_tags(&u.tags, &key)?;
            if let Some(lp) = &u.login_profile {
                // Only ever a hash: a password written in clear in a file is refused, not used.
                if !crate::password::is_hash(&lp.password_hash) {
                    return Err(invalid(
                        format!("{key}.login_profile.password_hash"),
                        "must be an argon2id hash ($argon2id$...): set passwords with `aws iam create-login-profile`",
                    ));
                }
                if lp.previous_hashes.len() > 24
                    || !lp
                        .previous_hashes
                        .iter()
                        .all(|h| crate::password::is_hash(h))
                {
                    return Err(invalid(
                        format!("{key}.login_profile.previous_hashes"),
                        "at most 24 argon2id hashes",
                    ));
                }
            }
            if u.access_keys.len() > 2 {
                return Err(invalid(
                    format!("{key}.access_keys"),
                    "a user has at most 2 access keys",
                ));
            }
            let mut access_keys = Vec::new();
            for (ki, k) in u.access_keys.iter().enumerate() {
                let kkey = format!("{key}.access_keys[{ki}]");
                let id_ok = k.id.len() == 20
                    && k.id.starts_with("AKIA")
                    && k.id
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !id_ok {
                    return Err(invalid(
                        format!("{kkey}.id"),
                        "an access key id is AKIA followed by 16 upper-case letters or digits",
                    ));
                }
                let active = match k.status.as_str() {
                    "Active" => true,
                    "Inactive" => false,
                    other => {
                        return Err(invalid(
                            format!("{kkey}.status"),
                            format!("{other:?}: use \"Active\" or \"Inactive\""),
                        ))
                    }
                };
                let s = secret(&k.secret, &format!("{kkey}.secret"), &k.id)
                    .map_err(DirectoryError::Secret)?;
                if s.len() < 16 {
                    return Err(invalid(
                        format!("{kkey}.secret"),
                        "too short (16 characters at least)",
                    ));
                }
                if keys.insert(k.id.clone(), (offset + ui, ki)).is_some() {
                    return Err(invalid(
                        format!("{kkey}.id"),
                        format!("{} is used twice", k.id),
                    ));
                }
                access_keys.push(AccessKey {
                    id: k.id.clone(),
                    secret: s,
                    active,
                });
            }
            users.push(User {
                name: u.name.clone(),
                account: acct.to_owned(),
                user_id: unique_id("AIDA", acct, &arn),
                permissions_boundary: boundary(
                    &u.permissions_boundary,
                    &format!("{key}.permissions_boundary"),
                )?,
                arn,
                policies,
                access_keys,
            });
        }

        let mut provider_names = HashSet::new();
        for (i, p) in doc.saml_metadata.iter().enumerate() {
            let key = format!("saml_metadata[{i}]");
            let ok = (1..=128).contains(&p.name.len())
                && p.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(invalid(
                    format!("{key}.name"),
                    "1..128 characters of [A-Za-z0-9_.-]",
                ));
            }
            if !provider_names.insert(p.name.to_ascii_lowercase()) {
                return Err(invalid(
                    key,
                    format!("provider {} is defined twice", p.name),
                ));
            }
            check_tags(&p.tags, &key)?;
        }
        let mut urls = HashSet::new();
        for (i, p) in doc.openid_connect_providers.iter().enumerate() {
            let key = format!("openid_connect_providers[{i}]");
            let host_path = p
                .url
                .strip_prefix("https://")
                .or_else(|| p.url.strip_prefix("http://"))
                .map(|r| r.trim_end_matches('/'))
                .unwrap_or_default();
            if host_path.is_empty() || p.url.len() > 255 || p.url.contains(['?', '#']) {
                return Err(invalid(
                    format!("{key}.url"),
                    "an issuer URL (https://host/path, at most 255 characters, no query)",
                ));
            }
            if !urls.insert(host_path.to_ascii_lowercase()) {
                return Err(invalid(key, format!("provider {} is defined twice", p.url)));
            }
            if p.client_ids.is_empty()
                || p.client_ids.len() > 100
                || p.client_ids.iter().any(|c| c.is_empty() || c.len() > 255)
            {
                return Err(invalid(
                    format!("{key}.client_ids"),
                    "1..100 client IDs of 1..255 characters",
                ));
            }
            let thumbprint_ok =
                |t: &String| t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit());
            if p.thumbprints.len() > 5 || !p.thumbprints.iter().all(thumbprint_ok) {
                return Err(invalid(
                    format!("{key}.thumbprints"),
                    "at most 5 thumbprints of 40 hex digits",
                ));
            }
            check_tags(&p.tags, &key)?;
        }
        let roles = &mut parts.roles;
        let mut role_names = HashSet::new();
        for (i, r) in raw.roles.iter().enumerate() {
            let key = format!("roles[{i}]");
            if !valid_name(&r.name) || !valid_path(&r.path) {
                return Err(invalid(&key, "invalid role name or path"));
            }
            if !role_names.insert(r.name.as_str()) {
                return Err(invalid(&key, format!("role {} is defined twice", r.name)));
            }
            check_tags(&r.tags, &key)?;
            if !(3600..=43200).contains(&r.max_session_duration) {
                return Err(invalid(
                    format!("{key}.max_session_duration"),
                    "must be 3600..43200 seconds",
                ));
            }
            let arn = format!("arn:aws:iam::{acct}:role{}{}", r.path, r.name);
            let trust = Policy::parse(&r.trust_policy, PolicyKind::Trust)
                .map_err(|e| {
                    invalid(
                        format!("{key}.trust_policy"),
                        format!("MalformedPolicyDocument: {e}"),
                    )
                })?
                .with_id(format!("{arn}/trust"));
            let mut policies = attached(&r.policies, &format!("{key}.policies"))?;
            policies.extend(inline(
                &r.inline_policies,
                &arn,
                &format!("{key}.inline_policies"),
            )?);
            roles.insert(
                arn.clone(),
                Role {
                    name: r.name.clone(),
                    role_id: unique_id("AROA", acct, &arn),
                    description: r.description.clone(),
                    trust_policy: Arc::new(trust),
                    policies,
                    permissions_boundary: boundary(
                        &r.permissions_boundary,
                        &format!("{key}.permissions_boundary"),
                    )?,
                    max_session_duration: r.max_session_duration,
                    arn,
                },
            );
        }

        Self::add_mfa_devices(doc, parts)?;
        parts.managed.extend(managed);
        Ok(())
    }

    /// Validate `doc`'s virtual MFA devices (names, paths and serial numbers unique, seeds
    /// sealed, each enabled for a user of its account, at most [`MFA_DEVICES_PER_USER`] per
    /// user) and add them to `parts`.
    fn add_mfa_devices(doc: &DirectoryDoc, parts: &mut Parts) -> Result<(), DirectoryError> {
        let acct = doc.account_id.as_str();
        let mut per_user: HashMap<String, usize> = HashMap::new();
        let mut serials = HashSet::new();
        for (i, d) in doc.mfa_devices.iter().enumerate() {
            let key = format!("mfa_devices[{i}]");
            let serial = d.serial(acct);
            if !valid_name_up_to(&d.name, 226) || !valid_path(&d.path) || serial.len() > 256 {
                return Err(invalid(
                    &key,
                    "name must be 1..226 of [A-Za-z0-9+=,.@_-], path /.../, serial number at most 256 characters",
                ));
            }
            if !serials.insert(serial.to_ascii_lowercase()) {
                return Err(invalid(
                    key,
                    format!("MFA device {serial} is defined twice"),
                ));
            }
            let sealed = match &d.seed {
                SecretRef {
                    sealed: Some(s),
                    value: None,
                    env: None,
                    file: None,
                } if sealed::well_formed(s) => s.clone(),
                _ => {
                    return Err(invalid(
                        format!("{key}.seed"),
                        "an MFA device's seed is sealed (sealed = \"KEY_ID:NONCE:CIPHERTEXT\"), never in clear",
                    ))
                }
            };
            if d.drift.abs() > crate::mfa::totp::RESYNC_WINDOW {
                return Err(invalid(
                    format!("{key}.drift"),
                    format!(
                        "at most {} steps either way",
                        crate::mfa::totp::RESYNC_WINDOW
                    ),
                ));
            }
            check_tags(&d.tags, &key)?;
            let user_arn = match &d.user {
                None => None,
                Some(name) => {
                    let user =
                        doc.users.iter().find(|u| u.name == *name).ok_or_else(|| {
                            invalid(format!("{key}.user"), format!("no user {name}"))
                        })?;
                    let count = per_user.entry(user.name.clone()).or_default();
                    *count += 1;
                    if *count > MFA_DEVICES_PER_USER {
                        return Err(invalid(
                            format!("{key}.user"),
                            format!("a user has at most {MFA_DEVICES_PER_USER} MFA devices"),
                        ));
                    }
                    Some(format!(
                        "arn:aws:iam::{acct}:user{}{}",
                        user.path, user.name
                    ))
                }
            };
            parts.mfa.insert(
                serial.clone(),
                MfaDevice {
                    serial,
                    user_arn,
                    sealed_seed: sealed,
                    drift: d.drift,
                },
            );
        }
        Ok(())
    }
    /// The version of what decides for principals (hex): it changes whenever a policy
    /// document, an attachment, a permissions boundary or an access key (added, removed,
    /// (de)activated, its secret changed) does. Downstream verifiers are told it (`GET
    /// /verify/events`) and forget what they cached when it changes.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The directory as data, as it was built from: what the IAM API reads and edits (a copy),
    /// and `idbroker directory export` writes.
    pub fn doc(&self) -> &Arc<DirectoryDoc> {
        &self.doc
    }

    /// The database's version this directory was loaded from (0: a file's).
    pub fn store_version(&self) -> i64 {
        self.store_version
    }

    /// The same directory, marked as the database's version `version`.
    pub fn with_store_version(mut self, version: i64) -> Self {
        self.store_version = version;
        self
    }

    /// The compiled policies of every principal, as the verifier reads them
    /// ([`Directory::policy_directory`], built once with the directory).
    pub fn policies(&self) -> &Arc<idbroker_verify::PolicyDirectory> {
        &self.policies
    }

    /// The user owning a long-term access key, and the key.
    pub fn access_key(&self, id: &str) -> Option<(&User, &AccessKey)> {
        let (u, k) = *self.keys.get(id)?;
        let user = self.users.get(u)?;
        Some((user, user.access_keys.get(k)?))
    }

    /// The virtual MFA device whose serial number is `serial` (exactly).
    pub fn mfa_device(&self, serial: &str) -> Option<&MfaDevice> {
        self.mfa.get(serial)
    }

    /// Every role, by ARN.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        let mut roles: Vec<&Role> = self.roles.values().collect();
        roles.sort_by(|a, b| a.arn.cmp(&b.arn));
        roles.into_iter()
    }

    /// A role by ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }

    /// A role by name.
    pub fn role_by_name(&self, name: &str) -> Option<&Role> {
        self.roles.values().find(|r| r.name == name)
    }

    /// A managed policy by ARN.
    pub fn managed_policy(&self, arn: &str) -> Option<&Arc<Policy>> {
        self.managed.get(arn)
    }

    /// A user by ARN.
    pub fn user_by_arn(&self, arn: &str) -> Option<&User> {
        self.users.iter().find(|u| u.arn == arn)
    }

    /// A user of the directory's own account by name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name == name && u.account == self.account_id)
    }

    /// The account an IAM ARN names (`arn:aws:iam::ACCOUNT:...`; empty when it names none).
    pub fn account_of(arn: &str) -> &str {
        arn.split(':').nth(4).unwrap_or_default()
    }

    /// The policies downstream verification needs (`idbroker-verify`'s directory): every
    /// managed policy by ARN, and each role's and user's identity policies and boundary, by the
    /// principal's ARN. The compiled policies are shared, not parsed again.
    pub fn policy_directory(&self) -> idbroker_verify::PolicyDirectory {
        let mut d = idbroker_verify::PolicyDirectory::new();
        for (arn, p) in &self.managed {
            d.insert_managed_policy(arn, Arc::clone(p));
        }
        let principals = self
            .roles
            .values()
            .map(|r| (&r.arn, &r.policies, &r.permissions_boundary))
            .chain(
                self.users
                    .iter()
                    .map(|u| (&u.arn, &u.policies, &u.permissions_boundary)),
            );
        for (arn, policies, boundary) in principals {
            for p in policies {
                d.insert_identity_policy(arn, p.id(), Arc::clone(p));
            }
            if let Some(b) = boundary {
                d.insert_permissions_boundary(arn, Arc::clone(b));
            }
        }
        d
    }

    /// Number of users, roles and managed policies.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.users.len(), self.roles.len(), self.managed.len())
    }
}

#[cfg(test)]
mod tests;
