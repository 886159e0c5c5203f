//! SAML providers and the service-provider (SP) settings, from the configuration: raw TOML
//! structures, and their validated form built from each IdP's metadata XML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use openssl::x509::X509;
use serde::Deserialize;
use tracing::Instrument;

use super::metadata::{fetch_blocking, parse_metadata, IdpMetadata, SigningCert, FETCH_TIMEOUT};

/// AWS's SP entity id: IdPs configured for AWS put it in the AudienceRestriction.
pub const AWS_AUDIENCE: &str = "urn:amazon:webservices";
/// AWS's ACS URL: IdPs configured for AWS put it in the Recipient.
pub const AWS_ACS_URL: &str = "https://signin.aws.amazon.com/saml";

/// `[saml]`: idbroker as a SAML service provider.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSamlSp {
    /// The SP entity id that assertions must name as their audience.
    pub sp_entity_id: Option<String>,
    /// The assertion consumer service URL that assertions must name as their Recipient.
    pub acs_url: Option<String>,
    /// SP private key(s), PEM, for encrypted assertions: one path, or a list (the first is the
    /// current key, matching `sp_certificate_file`; the others are still tried, for rotation).
    pub sp_private_key_file: Option<KeyFiles>,
    /// The SP's certificate (PEM) for the current key, published in the SP metadata as the
    /// encryption certificate.
    pub sp_certificate_file: Option<PathBuf>,
    /// Threads that run signature checks, off the async workers (1..=1024; default the cores,
    /// at least 2); a request that finds them all busy waits in their queue (see below).
    pub max_concurrent_checks: Option<usize>,
    /// How long a request waits for its signature check, slot included, before it is answered
    /// `ServiceUnavailable` (100..=60000 ms, default 2000).
    pub check_timeout_ms: Option<u64>,
}

/// One path or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyFiles {
    /// One file.
    One(PathBuf),
    /// Several, current first.
    Many(Vec<PathBuf>),
}

/// `[[saml_providers]]`: a trusted SAML identity provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSamlProvider {
    /// Provider name: the ARN is `arn:aws:iam::ACCOUNT:saml-provider/NAME`.
    pub name: String,
    /// The IdP's metadata XML (EntityDescriptor with an IDPSSODescriptor and signing keys).
    /// Exactly one of `metadata_file` and `metadata_url`.
    pub metadata_file: Option<PathBuf>,
    /// HTTPS URL of the IdP's metadata, fetched at load (which fails if it cannot be read and
    /// validated) and again every `metadata_refresh_seconds`.
    pub metadata_url: Option<String>,
    /// Interval between metadata fetches, seconds (60..=604800, default 3600).
    #[serde(default = "default_refresh")]
    pub metadata_refresh_seconds: u64,
    /// Allow `http://` metadata URLs on loopback hosts (tests only).
    #[serde(default)]
    pub allow_http_loopback: bool,
    /// Accept RSA-SHA1 signatures and SHA-1 digests (off by default).
    #[serde(default)]
    pub allow_sha1: bool,
    /// Allowed clock difference with the IdP, seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// How long after its IssueInstant an assertion is still accepted, seconds.
    #[serde(default = "default_max_age")]
    pub max_assertion_age_seconds: u64,
    /// `reject` (default): a signing certificate past its notAfter (or before its notBefore)
    /// verifies nothing. `accept`: the metadata alone decides (AWS's behaviour).
    #[serde(default = "default_expired_certs")]
    pub expired_certs: String,
    /// Smallest RSA signing key accepted from the metadata, bits (1024..=4096, default 2048).
    #[serde(default = "default_min_rsa")]
    pub min_rsa_key_bits: u32,
    /// Refuse encrypted assertions whose content is AES-CBC (unauthenticated, malleable):
    /// AES-GCM only. Default false (ADFS encrypts with AES-256-CBC by default).
    #[serde(default)]
    pub require_aead_encryption: bool,
    /// Rules for IdPs that cannot send AWS's Role attribute.
    #[serde(default)]
    pub role_mappings: Vec<RawRoleMapping>,
}

/// `[[saml_providers.role_mappings]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoleMapping {
    /// Attribute name, exactly as the IdP sends it.
    pub attribute: String,
    /// Value to match: exact, or a glob with `*` and `?`.
    pub value: String,
    /// The role ARN this grants (still subject to the role's trust policy).
    pub role: String,
}

fn default_skew() -> u64 {
    300
}
fn default_max_age() -> u64 {
    300
}
fn default_refresh() -> u64 {
    3600
}
fn default_min_rsa() -> u32 {
    2048
}
fn default_expired_certs() -> String {
    "reject".into()
}

/// A claim-mapping rule.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    /// Attribute name.
    pub attribute: String,
    /// Exact value or glob.
    pub value: String,
    /// Role ARN granted.
    pub role: String,
}

impl RoleMapping {
    /// Does an attribute value match this rule's value (exact, or glob with `*` and `?`)?
    pub fn matches(&self, value: &str) -> bool {
        glob(self.value.as_bytes(), value.as_bytes())
    }
}

/// `*` matches any run of characters (none included), `?` exactly one byte; everything else
/// itself. Iterative, with one backtrack point: linear in practice, never exponential.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == b'*'))
}

/// A trusted SAML identity provider.
#[derive(Debug)]
pub struct SamlProvider {
    /// Provider name.
    pub name: String,
    /// `arn:aws:iam::ACCOUNT:saml-provider/NAME`
    pub arn: String,
    /// `ACCOUNT/NAME`, the `saml:doc` key.
    pub doc: String,
    account: String,
    /// Entity id and signing certificates: replaced as a whole when refreshed metadata
    /// validates. Readers take the current `Arc` (a short read lock) and use it throughout.
    keys: RwLock<Arc<ProviderKeys>>,
    /// Where the metadata comes from.
    pub source: MetadataSource,
    /// When the next refresh is due (seconds since the epoch; URL sources only).
    next_refresh: AtomicI64,
    min_rsa_bits: u32,
    pub(super) allow_sha1: bool,
    pub(super) skew: i64,
    pub(super) max_age: i64,
    pub(super) accept_expired_certs: bool,
    /// Encrypted assertions must be AES-GCM (`require_aead_encryption`).
    pub(super) require_aead: bool,
    /// Claim-mapping rules.
    pub role_mappings: Vec<RoleMapping>,
}

/// Where a provider's metadata comes from.
#[derive(Debug, Clone)]
pub enum MetadataSource {
    /// A file, read once at load.
    File(PathBuf),
    /// An HTTPS URL, fetched at load and every `refresh`.
    Url {
        /// The URL (checked: HTTPS, or HTTP on loopback when allowed).
        url: String,
        /// Interval between fetches.
        refresh: Duration,
    },
    /// The directory's (`[[saml_metadata]]`, IAM's CreateSAMLProvider): in force with the
    /// directory version that holds it, replaced by the next.
    Directory,
}

/// What a provider's metadata says: its entity id and signing certificates, validated.
#[derive(Debug)]
pub struct ProviderKeys {
    /// The IdP's entity id (from its metadata): the only Issuer accepted.
    pub entity_id: String,
    /// `Base64(SHA1(issuer + account + "/" + name))`, AWS's NameQualifier.
    pub name_qualifier: String,
    /// Where SP-initiated sign-in sends the browser (HTTP-Redirect SingleSignOnService).
    pub sso_redirect_url: Option<String>,
    pub(super) certs: Vec<SigningCert>,
}

impl ProviderKeys {
    fn new(md: IdpMetadata, account: &str, name: &str) -> Self {
        let IdpMetadata {
            entity_id,
            certs,
            sso_redirect_url,
        } = md;
        let digest = openssl::sha::sha1(format!("{entity_id}{account}/{name}").as_bytes());
        ProviderKeys {
            name_qualifier: data_encoding::BASE64.encode(&digest),
            entity_id,
            sso_redirect_url,
            certs,
        }
    }

    /// The signing certificates.
    pub fn signing_certs(&self) -> &[SigningCert] {
        &self.certs
    }
}

/// What a metadata refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New metadata validated and replaced the keys (`true` when they changed).
    Updated(bool),
    /// The fetch failed or the metadata did not validate: the old keys stay.
    Failed(String),
    /// The provider's metadata is a file: nothing to refresh.
    NotRefreshable,
}

impl RefreshOutcome {
    /// The metric label: `updated`, `unchanged`, `error`.
    pub fn label(&self) -> &'static str {
        match self {
            RefreshOutcome::Updated(true) => "updated",
            RefreshOutcome::Updated(false) | RefreshOutcome::NotRefreshable => "unchanged",
            RefreshOutcome::Failed(_) => "error",
        }
    }
}

/// After a failed refresh, the next try comes at most this much later.
const RETRY_AFTER_FAILURE: i64 = 300;

impl SamlProvider {
    /// The current entity id and signing certificates: one consistent snapshot.
    pub fn keys(&self) -> Arc<ProviderKeys> {
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The current signing certificates, for display.
    pub fn signing_certs(&self) -> Vec<SigningCert> {
        self.keys().certs.clone()
    }

    /// Is a metadata refresh due at `now`? (Always false for file metadata.)
    pub fn refresh_due(&self, now: SystemTime) -> bool {
        matches!(self.source, MetadataSource::Url { .. })
            && super::unix_now(now) >= self.next_refresh.load(Ordering::Relaxed)
    }

    /// Validate new metadata text with the rules of config load (one IdP entity, 1 to 10
    /// signing certificates, key sizes) and, only if it passes, replace the keys.
    #[tracing::instrument(skip_all, fields(provider = %self.name))]
    pub fn apply_metadata(&self, text: &str) -> Result<bool, String> {
        let md = parse_metadata(text, self.min_rsa_bits)?;
        let new = ProviderKeys::new(md, &self.account, &self.name);
        let mut guard = match self.keys.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let changed = guard.entity_id != new.entity_id
            || guard.certs.len() != new.certs.len()
            || guard
                .certs
                .iter()
                .zip(&new.certs)
                .any(|(a, b)| a.der.der_data() != b.der.der_data());
        *guard = Arc::new(new);
        Ok(changed)
    }

    /// Fetch the metadata URL with `fetcher` and apply it when it validates; on any failure
    /// the old keys stay. Schedules the next refresh from `now` (sooner after a failure).
    #[tracing::instrument(skip_all, fields(provider = %self.name))]
    pub async fn refresh(
        &self,
        fetcher: &dyn crate::federation::fetch::Fetcher,
        now: SystemTime,
    ) -> RefreshOutcome {
        let MetadataSource::Url { url, refresh } = &self.source else {
            return RefreshOutcome::NotRefreshable;
        };
        let every = i64::try_from(refresh.as_secs()).unwrap_or(3600);
        let now_s = super::unix_now(now);
        let fetched = fetcher
            .get(url, FETCH_TIMEOUT)
            .instrument(tracing::debug_span!("saml.metadata_fetch"))
            .await;
        let outcome = match fetched {
            Err(e) => RefreshOutcome::Failed(format!("fetching {url}: {e}")),
            Ok(got) => match std::str::from_utf8(&got.body) {
                Err(_) => RefreshOutcome::Failed(format!("{url}: the metadata is not UTF-8")),
                Ok(text) => match self.apply_metadata(text) {
                    Ok(changed) => RefreshOutcome::Updated(changed),
                    Err(e) => RefreshOutcome::Failed(format!("{url}: {e}")),
                },
            },
        };
        let next = match outcome {
            RefreshOutcome::Failed(_) => every.min(RETRY_AFTER_FAILURE),
            _ => every,
        };
        self.next_refresh
            .store(now_s.saturating_add(next), Ordering::Relaxed);
        outcome
    }

    /// The allowed clock skew.
    pub fn skew(&self) -> Duration {
        Duration::from_secs(self.skew.unsigned_abs())
    }
}

/// idbroker as a SAML SP, and the providers it trusts.
#[derive(Debug, Clone)]
pub struct SamlSettings {
    /// SP entity id (audience).
    pub sp_entity_id: String,
    /// ACS URL (recipient, destination).
    pub acs_url: String,
    /// SP private keys for encrypted assertions (none: they are refused).
    pub sp_keys: super::SpKeys,
    /// The SP encryption certificate (DER), published in the SP metadata.
    pub sp_certificate: Option<Vec<u8>>,
    /// Where signature checks run (bounded in number and time).
    pub checks: super::pool::CheckPool,
    providers: BTreeMap<String, Arc<SamlProvider>>,
    /// The directory's providers (IAM's CreateSAMLProvider), by ARN: replaced whole with each
    /// directory version (`crate::directory_service`). A configured provider of the same ARN
    /// takes precedence.
    directory_providers: Arc<arc_swap::ArcSwap<BTreeMap<String, Arc<SamlProvider>>>>,
}

impl Default for SamlSettings {
    fn default() -> Self {
        SamlSettings {
            sp_entity_id: AWS_AUDIENCE.into(),
            acs_url: AWS_ACS_URL.into(),
            sp_keys: super::SpKeys::default(),
            sp_certificate: None,
            checks: super::pool::CheckPool::default(),
            providers: BTreeMap::new(),
            directory_providers: Arc::default(),
        }
    }
}

/// A problem in the SAML configuration: the key and what is wrong.
#[derive(Debug)]
pub struct SamlConfigError {
    /// Dotted key.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn err(key: impl Into<String>, problem: impl Into<String>) -> SamlConfigError {
    SamlConfigError {
        key: key.into(),
        problem: problem.into(),
    }
}

impl SamlSettings {
    /// Validate the `[saml]` section and every `[[saml_providers]]`, reading each provider's
    /// metadata (relative to `base`). `now` only decides warnings about expired certificates.
    pub fn build(
        sp: &RawSamlSp,
        providers: &[RawSamlProvider],
        account: &str,
        base: &Path,
        now: SystemTime,
        warnings: &mut Vec<String>,
    ) -> Result<SamlSettings, SamlConfigError> {
        let sp_entity_id = sp
            .sp_entity_id
            .clone()
            .unwrap_or_else(|| AWS_AUDIENCE.into());
        let acs_url = sp.acs_url.clone().unwrap_or_else(|| AWS_ACS_URL.into());
        if sp_entity_id.trim().is_empty() || sp_entity_id.trim() != sp_entity_id {
            return Err(err(
                "saml.sp_entity_id",
                "must be a non-empty URI without surrounding spaces",
            ));
        }
        if acs_url.is_empty() || acs_url.contains(char::is_whitespace) {
            return Err(err("saml.acs_url", "must be a URL without spaces"));
        }
        let mut out = BTreeMap::new();
        for (i, raw) in providers.iter().enumerate() {
            let key = format!("saml_providers[{i}]");
            let p = build_provider(raw, account, base, now, &key, warnings)?;
            if out.contains_key(&p.arn) {
                return Err(err(key, format!("provider {} is defined twice", p.name)));
            }
            out.insert(p.arn.clone(), Arc::new(p));
        }
        let (sp_keys, sp_certificate) = sp_encryption_keys(sp, base)?;
        let max_in_flight = sp
            .max_concurrent_checks
            .unwrap_or_else(super::pool::default_max_in_flight);
        if !(1..=1024).contains(&max_in_flight) {
            return Err(err("saml.max_concurrent_checks", "must be 1..=1024"));
        }
        let timeout_ms = sp
            .check_timeout_ms
            .unwrap_or(super::pool::DEFAULT_TIMEOUT_MS);
        if !(100..=60_000).contains(&timeout_ms) {
            return Err(err("saml.check_timeout_ms", "must be 100..=60000"));
        }
        Ok(SamlSettings {
            sp_entity_id,
            acs_url,
            sp_keys,
            sp_certificate,
            checks: super::pool::CheckPool::new(
                max_in_flight,
                std::time::Duration::from_millis(timeout_ms),
            ),
            providers: out,
            directory_providers: Arc::default(),
        })
    }

    /// A configured provider (`[[saml_providers]]`) by ARN.
    pub fn provider(&self, arn: &str) -> Option<&Arc<SamlProvider>> {
        self.providers.get(arn)
    }

    /// A provider AssumeRoleWithSAML may name, by ARN: a configured one, else the directory's.
    pub fn find(&self, arn: &str) -> Option<Arc<SamlProvider>> {
        match self.providers.get(arn) {
            Some(p) => Some(Arc::clone(p)),
            None => self.directory_providers.load().get(arn).cloned(),
        }
    }

    /// Is `arn` a configured provider's (`[[saml_providers]]`)?
    pub fn configured(&self, arn: &str) -> bool {
        self.providers.contains_key(arn)
    }

    /// The configured providers, by ARN.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<SamlProvider>> {
        self.providers.values()
    }

    /// Put the directory's providers in force (replacing the previous version's).
    pub fn set_directory_providers(&self, providers: BTreeMap<String, Arc<SamlProvider>>) {
        self.directory_providers.store(Arc::new(providers));
    }

    /// Is this audience acceptable (the SP entity id, or AWS's for IdPs set up for AWS)?
    pub fn audience_ok(&self, audience: &str) -> bool {
        audience == self.sp_entity_id || audience == AWS_AUDIENCE
    }
}

/// The SP's private keys and certificate: RSA, 2048 bits or more; the certificate's key is the
/// first private key. Both or neither.
fn sp_encryption_keys(
    sp: &RawSamlSp,
    base: &Path,
) -> Result<(super::SpKeys, Option<Vec<u8>>), SamlConfigError> {
    let files: Vec<&PathBuf> = match &sp.sp_private_key_file {
        None => vec![],
        Some(KeyFiles::One(p)) => vec![p],
        Some(KeyFiles::Many(v)) => v.iter().collect(),
    };
    const KEY: &str = "saml.sp_private_key_file";
    const CERT: &str = "saml.sp_certificate_file";
    let mut keys = Vec::new();
    for f in files {
        let path = base.join(f);
        let pem = std::fs::read(&path).map_err(|e| err(KEY, format!("{}: {e}", path.display())))?;
        // The key's content never appears in a message.
        let key = openssl::pkey::PKey::private_key_from_pem(&pem)
            .map_err(|_| err(KEY, format!("{}: not a PEM private key", path.display())))?;
        if key.id() != openssl::pkey::Id::RSA || key.bits() < 2048 {
            return Err(err(
                KEY,
                format!(
                    "{}: must be an RSA key of 2048 bits or more",
                    path.display()
                ),
            ));
        }
        keys.push(key);
    }
    let cert = match (&sp.sp_certificate_file, keys.first()) {
        (None, None) => None,
        (Some(c), Some(key)) => {
            let path = base.join(c);
            let pem =
                std::fs::read(&path).map_err(|e| err(CERT, format!("{}: {e}", path.display())))?;
            let x = X509::from_pem(&pem)
                .map_err(|_| err(CERT, format!("{}: not a PEM certificate", path.display())))?;
            let matches = x.public_key().map(|p| p.public_eq(key)).unwrap_or(false);
            if !matches {
                return Err(err(
                    CERT,
                    "its key is not the first key of saml.sp_private_key_file",
                ));
            }
            Some(
                x.to_der()
                    .map_err(|_| err(CERT, "the certificate cannot be encoded"))?,
            )
        }
        (None, Some(_)) => {
            return Err(err(
                CERT,
                "required with saml.sp_private_key_file (it is published in the SP metadata)",
            ))
        }
        (Some(_), None) => return Err(err(KEY, "required with saml.sp_certificate_file")),
    };
    Ok((super::SpKeys(keys), cert))
}

impl SamlProvider {
    /// A provider the directory holds (`[[saml_metadata]]`, IAM's CreateSAMLProvider): its
    /// metadata document and the defaults of a configured provider (SHA-256 or better, RSA keys
    /// of 2048 bits or more, 300 s of skew and of assertion age, certificates outside their
    /// validity refused, AWS's Role attribute: no role mappings). `Err`: why the name or the
    /// metadata is refused.
    pub fn from_document(
        name: &str,
        account: &str,
        text: &str,
        now: SystemTime,
    ) -> Result<SamlProvider, String> {
        if !valid_provider_name(name) {
            return Err("a provider name is 1..128 characters of [A-Za-z0-9_.-]".into());
        }
        let raw = RawSamlProvider {
            name: name.to_owned(),
            metadata_file: None,
            metadata_url: None,
            metadata_refresh_seconds: default_refresh(),
            allow_http_loopback: false,
            allow_sha1: false,
            clock_skew_seconds: default_skew(),
            max_assertion_age_seconds: default_max_age(),
            expired_certs: default_expired_certs(),
            min_rsa_key_bits: default_min_rsa(),
            require_aead_encryption: false,
            role_mappings: Vec::new(),
        };
        let mut warnings = Vec::new();
        finish_provider(
            &raw,
            account,
            MetadataSource::Directory,
            text,
            now,
            "saml_metadata",
            &mut warnings,
            false,
        )
        .map_err(|e| e.problem)
    }
}

fn valid_provider_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

fn build_provider(
    raw: &RawSamlProvider,
    account: &str,
    base: &Path,
    now: SystemTime,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<SamlProvider, SamlConfigError> {
    if !valid_provider_name(&raw.name) {
        return Err(err(
            format!("{key}.name"),
            "1..128 characters of [A-Za-z0-9_.-]",
        ));
    }
    let expired = match raw.expired_certs.as_str() {
        "reject" => false,
        "accept" => true,
        other => {
            return Err(err(
                format!("{key}.expired_certs"),
                format!("{other:?}: use \"reject\" or \"accept\""),
            ))
        }
    };
    if raw.clock_skew_seconds > 3600 {
        return Err(err(format!("{key}.clock_skew_seconds"), "at most 3600"));
    }
    if !(1..=86_400).contains(&raw.max_assertion_age_seconds) {
        return Err(err(format!("{key}.max_assertion_age_seconds"), "1..86400"));
    }
    if !(1024..=4096).contains(&raw.min_rsa_key_bits) {
        return Err(err(format!("{key}.min_rsa_key_bits"), "1024..4096"));
    }
    let (source, text) = match (&raw.metadata_file, &raw.metadata_url) {
        (Some(file), None) => {
            let path = base.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                err(
                    format!("{key}.metadata_file"),
                    format!("{}: {e}", path.display()),
                )
            })?;
            (MetadataSource::File(path), text)
        }
        (None, Some(url)) => {
            let ukey = format!("{key}.metadata_url");
            crate::federation::oidc::check_url(url, raw.allow_http_loopback)
                .map_err(|p| err(&ukey, p))?;
            if !(60..=604_800).contains(&raw.metadata_refresh_seconds) {
                return Err(err(format!("{key}.metadata_refresh_seconds"), "60..604800"));
            }
            let text = fetch_blocking(url).map_err(|p| err(&ukey, p))?;
            (
                MetadataSource::Url {
                    url: url.clone(),
                    refresh: Duration::from_secs(raw.metadata_refresh_seconds),
                },
                text,
            )
        }
        _ => {
            return Err(err(
                key,
                "exactly one of metadata_file and metadata_url is required",
            ))
        }
    };
    finish_provider(raw, account, source, &text, now, key, warnings, expired)
}

/// A provider from its validated settings and its metadata's text.
#[allow(clippy::too_many_arguments)]
fn finish_provider(
    raw: &RawSamlProvider,
    account: &str,
    source: MetadataSource,
    text: &str,
    now: SystemTime,
    key: &str,
    warnings: &mut Vec<String>,
    expired: bool,
) -> Result<SamlProvider, SamlConfigError> {
    let (mkey, shown) = match &source {
        MetadataSource::File(p) => (format!("{key}.metadata_file"), p.display().to_string()),
        MetadataSource::Url { url, .. } => (format!("{key}.metadata_url"), url.clone()),
        MetadataSource::Directory => (format!("{key}.metadata"), "the directory".to_owned()),
    };
    let md = parse_metadata(text, raw.min_rsa_key_bits)
        .map_err(|p| err(mkey, format!("{shown}: {p}")))?;
    let now_s = super::unix_now(now);
    for c in &md.certs {
        if c.not_after <= now_s || c.not_before > now_s {
            warnings.push(format!(
                "{key}: signing certificate {:?} is outside its validity period{}",
                c.subject,
                if expired {
                    " (accepted: expired_certs = \"accept\")"
                } else {
                    "; it verifies nothing"
                }
            ));
        }
    }
    let mut role_mappings = Vec::new();
    for (j, m) in raw.role_mappings.iter().enumerate() {
        let mkey = format!("{key}.role_mappings[{j}]");
        let role_prefix = format!("arn:aws:iam::{account}:role/");
        if !m.role.starts_with(&role_prefix) {
            return Err(err(
                format!("{mkey}.role"),
                format!("must be a role ARN of this account ({role_prefix}...)"),
            ));
        }
        if m.attribute.is_empty() || m.value.is_empty() {
            return Err(err(mkey, "attribute and value must not be empty"));
        }
        role_mappings.push(RoleMapping {
            attribute: m.attribute.clone(),
            value: m.value.clone(),
            role: m.role.clone(),
        });
    }
    let arn = format!("arn:aws:iam::{account}:saml-provider/{}", raw.name);
    let refresh_every = match &source {
        MetadataSource::Url { refresh, .. } => i64::try_from(refresh.as_secs()).unwrap_or(3600),
        MetadataSource::File(_) | MetadataSource::Directory => 0,
    };
    Ok(SamlProvider {
        name: raw.name.clone(),
        doc: format!("{account}/{}", raw.name),
        account: account.to_owned(),
        keys: RwLock::new(Arc::new(ProviderKeys::new(md, account, &raw.name))),
        source,
        next_refresh: AtomicI64::new(now_s.saturating_add(refresh_every)),
        min_rsa_bits: raw.min_rsa_key_bits,
        arn,
        allow_sha1: raw.allow_sha1,
        skew: i64::try_from(raw.clock_skew_seconds).unwrap_or(300),
        max_age: i64::try_from(raw.max_assertion_age_seconds).unwrap_or(300),
        accept_expired_certs: expired,
        require_aead: raw.require_aead_encryption,
        role_mappings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"admins", b"admins"));
        assert!(!glob(b"admins", b"admins2"));
        assert!(glob(b"aws-*-admins", b"aws-prod-admins"));
        assert!(glob(b"aws-*", b"aws-"));
        assert!(!glob(b"aws-*-x", b"aws-prod-y"));
        assert!(glob(b"a?c", b"abc"));
        assert!(!glob(b"a?c", b"ac"));
        assert!(glob(b"*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!glob(b"*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
