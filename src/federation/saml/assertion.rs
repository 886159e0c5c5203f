//! The entry points: [`check`] takes a base64 response through every step but single use
//! (size and encoding, the lexical pass, an EncryptedAssertion opened, the profile pass, samael's
//! signature check, the signed values read and validated) and [`verify`] runs that check on the
//! check pool, then records the assertion ID once in the session store. A
//! [`VerifiedAssertion`], built only here, is the result; its fields are private.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use idbroker_session::{SessionError, SessionStore};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, ReduceMode, VerificationKey};
use tracing::instrument;

use super::config::{SamlProvider, SamlSettings};
use super::datetime::unix_now;
use super::encrypted::open_encrypted;
use super::error::{SamlError, SIGNATURE_DOES_NOT_VERIFY};
use super::profile::{profile, strip};
use super::signed::read_signed;
use super::validate::{validate, InResponseTo};

/// Largest SAMLAssertion parameter, in characters (AWS's limit).
pub const MAX_ASSERTION_CHARS: usize = 100_000;

/// The SHA-2 algorithms, for samael's own check (a second line behind the profile pass).
const SAMAEL_SHA2: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// A SAML assertion whose signature, issuer, audience, recipient, times and single use were
/// checked for one provider. Only [`verify`] builds one; its fields are private.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    provider_arn: String,
    issuer: String,
    subject: String,
    subject_type: String,
    name_qualifier: String,
    doc: String,
    audience: String,
    id: String,
    not_on_or_after: i64,
    session_not_on_or_after: Option<i64>,
    attributes: Vec<(String, Vec<String>)>,
}

impl VerifiedAssertion {
    /// The provider that vouched (its ARN).
    pub fn provider_arn(&self) -> &str {
        &self.provider_arn
    }
    /// Issuer (the IdP's entity id).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// NameID, white space around it removed.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// `persistent`, `transient`, ... or the full format URI.
    pub fn subject_type(&self) -> &str {
        &self.subject_type
    }
    /// AWS's NameQualifier for this provider.
    pub fn name_qualifier(&self) -> &str {
        &self.name_qualifier
    }
    /// `ACCOUNT/PROVIDER`, the `saml:doc` key.
    pub fn doc(&self) -> &str {
        &self.doc
    }
    /// The Recipient of the bearer confirmation (`saml:aud`, the result's Audience).
    pub fn audience(&self) -> &str {
        &self.audience
    }
    /// The assertion's ID.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// When the assertion stops being usable (seconds since the epoch).
    pub fn not_on_or_after(&self) -> i64 {
        self.not_on_or_after
    }
    /// The IdP's SessionNotOnOrAfter, if given (seconds since the epoch).
    pub fn session_not_on_or_after(&self) -> Option<i64> {
        self.session_not_on_or_after
    }
    /// Values of an attribute (by exact Name); empty when absent.
    pub fn attribute(&self, name: &str) -> &[String] {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }
    /// All attributes, in document order.
    pub fn attributes(&self) -> &[(String, Vec<String>)] {
        &self.attributes
    }
}

/// A SAML response checked up to (not including) single use. The CPU part of the work; see
/// [`verify`] for the whole.
#[derive(Debug)]
pub struct Checked(VerifiedAssertion, i64);

impl Checked {
    /// The assertion ID.
    pub fn id(&self) -> &str {
        &self.0.id
    }
    /// The NameID. (No reference to the inner [`VerifiedAssertion`] is handed out: it is a
    /// proof of single use, which a `Checked` is not yet.)
    pub fn subject(&self) -> &str {
        &self.0.subject
    }
}

/// Check a base64 SAML response for `provider`, at `now`, and record its assertion ID in
/// `store` until it expires. The only way to a [`VerifiedAssertion`].
///
/// The check ([`check`]) runs on `sp.checks`: off the async workers, bounded in number and
/// time; past the bound the answer is [`SamlError::Overloaded`].
#[instrument(skip_all, fields(provider = %provider.arn))]
pub async fn verify(
    provider: &Arc<SamlProvider>,
    sp: &Arc<SamlSettings>,
    encoded: &str,
    in_response_to: InResponseTo,
    store: &dyn SessionStore,
    now: SystemTime,
) -> Result<VerifiedAssertion, SamlError> {
    let checked = check_pooled(provider, sp, encoded, in_response_to, now).await?;
    use_once(provider, checked, store, now).await
}

/// [`check`] on `sp.checks` (off the async workers, bounded in number and time; past the bound
/// [`SamlError::Overloaded`]): the first half of [`verify`], for a caller that has something to
/// do between the check and single use (AssumeRoleWithSAML takes the provider's rate-limit
/// bucket there, so that a throttled call does not spend its assertion).
#[instrument(level = "debug", skip_all, fields(provider = %provider.arn))]
pub async fn check_pooled(
    provider: &Arc<SamlProvider>,
    sp: &Arc<SamlSettings>,
    encoded: &str,
    in_response_to: InResponseTo,
    now: SystemTime,
) -> Result<Checked, SamlError> {
    let (p, settings, text) = (provider.clone(), sp.clone(), encoded.to_owned());
    // The check runs on a check thread: its spans stay this request's (traces).
    let parent = tracing::Span::current();
    sp.checks
        .run(move || parent.in_scope(|| check(&p, &settings, &text, in_response_to, now)))
        .await
        .map_err(|_| SamlError::Overloaded)?
}

/// The second half of [`verify`]: record the checked assertion's ID in `store` until it
/// expires (one winner across all replicas), which makes it a [`VerifiedAssertion`].
pub async fn use_once(
    provider: &SamlProvider,
    checked: Checked,
    store: &dyn SessionStore,
    now: SystemTime,
) -> Result<VerifiedAssertion, SamlError> {
    let Checked(assertion, until) = checked;
    let replay_id = format!("{}#{}", provider.arn, assertion.id);
    let now_s = u64::try_from(unix_now(now)).unwrap_or(0);
    let until = u64::try_from(until).unwrap_or(0);
    match store.use_once("saml", &replay_id, until, now_s).await {
        Ok(()) => Ok(assertion),
        Err(SessionError::Replay) => Err(SamlError::Replayed),
        Err(SessionError::Expired) => Err(SamlError::Expired("The SAML assertion has expired")),
        Err(_) => Err(SamlError::StoreUnavailable),
    }
}

/// Everything [`verify`] checks except single use (benchmarks and fuzzing call this).
#[instrument(skip_all, fields(provider = %provider.arn))]
pub fn check(
    provider: &SamlProvider,
    sp: &SamlSettings,
    encoded: &str,
    in_response_to: InResponseTo,
    now: SystemTime,
) -> Result<Checked, SamlError> {
    idbroker_xmlsec_quiet::silence_xmlsec();
    if !(4..=MAX_ASSERTION_CHARS).contains(&encoded.len()) {
        return Err(SamlError::Size);
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = data_encoding::BASE64
        .decode(compact.as_bytes())
        .map_err(|_| SamlError::Malformed("SAMLAssertion is not base64"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SamlError::Malformed("the response is not UTF-8"))?;
    let text = strip(text)?;
    let now_s = unix_now(now);
    // One snapshot of the provider's keys for the whole check (a refresh may swap them).
    let keys = provider.keys();
    let trusted: Vec<VerificationKey> = keys
        .certs
        .iter()
        .filter(|c| provider.accept_expired_certs || (c.not_before <= now_s && now_s < c.not_after))
        .map(|c| c.key.clone())
        .collect();
    if trusted.is_empty() {
        return Err(SamlError::Signature(
            "no signing certificate of the provider is valid now",
        ));
    }
    let algorithms = (!provider.allow_sha1).then_some(&SAMAEL_SHA2[..]);
    let opened = open_encrypted(provider, sp, &text, &trusted, algorithms)?;
    let (text, preverified) = match &opened {
        // The decrypted text goes through the lexical pass too (no DOCTYPE in the plaintext).
        Some((spliced, verified)) => (strip(spliced)?, *verified),
        None => (text, false),
    };
    let outer = profile(provider, &text, preverified)?;
    let reduced: Cow<'_, str> = if outer.response_signed || outer.assertion_signed {
        Cow::Owned(
            tracing::debug_span!("saml.signature")
                .in_scope(|| {
                    Crypto::reduce_xml_to_signed_with_keys(
                        &text,
                        &trusted,
                        ReduceMode::ValidateAndMarkNoAncestors,
                        algorithms,
                    )
                })
                .map_err(|_| SamlError::Signature(SIGNATURE_DOES_NOT_VERIFY))?,
        )
    } else {
        // Only after decryption, when the Response's signature (over the ciphertext) was
        // verified and the text rebuilt from samael's signed content: all of it is signed.
        text.clone()
    };
    let signed = read_signed(&reduced, &outer)?;
    let until = validate(provider, &keys, sp, &outer, &signed, in_response_to, now_s)?;
    Ok(Checked(
        VerifiedAssertion {
            provider_arn: provider.arn.clone(),
            issuer: signed.issuer,
            subject: signed.name_id,
            subject_type: signed.subject_type,
            name_qualifier: keys.name_qualifier.clone(),
            doc: provider.doc.clone(),
            audience: sp.acs_url.clone(),
            id: signed.id,
            not_on_or_after: until - provider.skew,
            session_not_on_or_after: signed.session_not_on_or_after,
            attributes: signed.attributes,
        },
        until,
    ))
}
